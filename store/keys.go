package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"strconv"
	"time"
)

// Every key starts with prefix. The {mp} hash tag puts all of them in one
// Redis Cluster slot, so every Lua script may touch any of them (see doc.go).
const prefix = "mp:{mp}:"

// Fixed keys. doc.go describes each one.
const (
	keyPendingIndex  = prefix + "pending-index" // the layout before shards (see pendingIndexKey)
	keyJobs          = prefix + "jobs"
	keyDelayed       = prefix + "delayed"
	keyDLQ           = prefix + "dlq"
	keyAudit         = prefix + "audit"
	keyRate          = prefix + "ratelimit" // redis_rate stores it as "rate:" + keyRate
	keyRatePause     = prefix + "ratelimit-pause"
	keyUndo          = prefix + "undo"
	keyAuthRate      = prefix + "authratelimit"
	keyAuthRatePause = prefix + "authratelimit-pause"
	keySweepLock     = prefix + "reconcile-lock"
	keySweep         = prefix + "reconcile"
	keyEmailWeeks    = prefix + "email-weeks"
)

// group is the consumer group of the job stream.
const group = "workers"

// encodeID makes an identifier safe as part of a key name: user ids and
// webhook ids come from outside, and raw they could contain ':', '{', '}'
// or newlines that would forge another key or move it to another slot.
func encodeID(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// idKey is prefix + kind + encodeID(id) in one allocation: two of these are
// built for every event the receiver takes in.
func idKey(kind, id string) string {
	var buf [512]byte // base64 of the longest id (256 bytes) fits
	enc := base64.RawURLEncoding.AppendEncode(buf[:0], []byte(id))
	return prefix + kind + string(enc) // string(enc) in a concatenation is not copied
}

// oldRecordKey is a user's record hash in the layouts before records were
// fields of shared hashes (see recordShardKey): still read, and deleted by
// the first script that writes the record.
func oldRecordKey(userID string) string { return idKey("pending:", userID) }
func replayKey(webhookID string) string { return idKey("replay:", webhookID) }

// userAuditKey is a user's own audit stream in the layout before trails
// (see trailKey): still read, never written, until it expires with the
// retention.
func userAuditKey(userID string) string { return idKey("audit:", userID) }
func sweepRunKey(run string) string     { return idKey("reconcile-run:", run) }

// emailKey is the record index by address (normalized) of the layout before
// emailIndexKey: one key per address, still read, no longer written, until it
// expires with its record. Addresses come from outside like ids, so they are
// encoded the same way.
func emailKey(normalized string) string { return idKey("email:", normalized) }

// The email index is fields of shared hashes rather than a key per address:
// a key costs about 160 bytes, a field about 40. mp:{mp}:emails:<week>:<shard>
// maps the fingerprints of the addresses of one shard, whose records' keys
// expire in that week, to their user ids; it expires at the week's end, so an
// entry lives at least as long as its record's key (Redis 7.0 expires keys,
// not fields) and at most a week longer. Week 0 holds the records whose keys
// never expire. mp:{mp}:email-weeks lists the weeks that may hold entries.
const (
	emailShards = 1024
	weekMS      = 7 * dayMS
)

// emailPrint is a normalized address's fingerprint (the first 8 bytes of
// its SHA-256, as a signed integer Redis keeps as 8 bytes) and its shard.
// Two addresses may share a fingerprint, by chance (about one pair in 2^64)
// or made on purpose; FindByEmail therefore checks that the record it finds
// holds the address, so a shared fingerprint can hide a record (provisioning
// then asks Auth0 by address, its path for a record it has no index entry
// for) but never return another user's.
func emailPrint(normalized string) (int64, uint32) {
	sum := sha256.Sum256([]byte(normalized))
	v := binary.BigEndian.Uint64(sum[:8])
	return int64(v), uint32(v>>54) % emailShards
}

// emailWeek is the email index week holding atMS (weeks count from 1, the
// one of the Unix epoch; 0 is never), and that week's end in ms (0: never).
func emailWeek(atMS int64) (week, end int64) {
	if atMS <= 0 {
		return 0, 0
	}
	week = atMS/weekMS + 1
	return week, week * weekMS
}

func emailIndexKey(week int64, shard uint32) string {
	return prefix + "emails:" + strconv.FormatInt(week, 10) + ":" + strconv.FormatUint(uint64(shard), 10)
}

// replayedKey marks a replayed dead letter; the id is the operator's input,
// so it is encoded like any outside id.
func replayedKey(dlqID string) string { return idKey("replayed:", dlqID) }

// ms formats a time as Unix milliseconds, the one time format in Redis:
// Lua compares numbers, and sorted-set scores must be numbers anyway.
func ms(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// durMS formats a duration in milliseconds, rounding up so a positive
// duration never becomes 0 ("no expiry" in the scripts).
func durMS(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
}

// parseMS reads Unix milliseconds back; "0", "" and garbage are the zero time.
func parseMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// The pending index is sharded: a sorted set of at most
// zset-max-listpack-entries (128 by default) members is a listpack, about 50
// bytes a member, a larger one a skip list, about 150. mp:{mp}:waiting:<shard>
// holds the records of the users of one shard that wait for proof (member
// the user id: a sorted set's member is binary-safe and names no key; score
// provisioned_at); with 256 shards they stay listpacks up to about 32,000
// waiting records (raising zset-max-listpack-entries to 512 keeps them so up
// to about 130,000). Listing merges the shards (indexMerge).
// mp:{mp}:pending-index is the one index of the release before (member the
// encoded user id): read beside the shards, written only while records are
// written in its layout (WithRecordLayout), and emptied as its records are
// written again in the packed one, end or are listed.
const pendingShards = 256

// pendingIndexKey is the index shard holding userID.
func pendingIndexKey(userID string) string {
	return pendingShardKey(userShard(userID))
}

// Records are fields of shared hashes rather than a hash per user: a key
// costs about 150 bytes before it holds anything, a field its bytes and a
// few more. mp:{mp}:records:<shard> holds the records of the users of one
// shard (the pending index's), field the user id, value the record packed
// (lua/record.lua); with 256 shards a hash stays a listpack, a few bytes a
// field beyond its text, up to hash-max-listpack-entries records (512 by
// default: about 130,000 records in all) whose packed values are within
// hash-max-listpack-value (64 bytes: an address up to about 40 characters).
// Past either a shard becomes a hash table, about 50 bytes a field more,
// still correct. Redis 7.0 cannot expire a field, so the tidy pass
// (TidyRecords) deletes records whose end of life has passed.
const recordShards = pendingShards

// userShard is the shard of userID's record, pending index entry and trail.
func userShard(userID string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(userID))
	return h.Sum32() % pendingShards
}

func recordShardKey(userID string) string { return recordsKey(userShard(userID)) }

func recordsKey(shard uint32) string {
	return prefix + "records:" + strconv.FormatUint(uint64(shard), 10)
}

func pendingShardKey(shard uint32) string {
	return prefix + "waiting:" + strconv.FormatUint(uint64(shard), 10)
}

// pendingIndexKeys are every shard and the index of the layout before, last.
func pendingIndexKeys() []string {
	keys := make([]string, 0, pendingShards+1)
	for s := range uint32(pendingShards) {
		keys = append(keys, pendingShardKey(s))
	}
	return append(keys, keyPendingIndex)
}

// Per-user audit trails are fields of shared hashes rather than a stream per
// user: a stream costs about 4 KB however short, a hash field its bytes.
// mp:{mp}:trail:<day>:<shard> holds, for the users of one shard, what was
// audited about them on one UTC day; it expires a retention after the day
// ends, so every entry is kept at least the retention. With no retention
// (keep forever) everything goes to day 0, which never expires.
const dayMS = int64(24 * time.Hour / time.Millisecond)

// trailKeyFor spreads users over the trail hashes by userShard, the records'
// shards: a few dozen fields a hash at ten thousand users a day, small enough
// for Redis to keep most of them as compact listpacks, and few keys however
// many users there are.
func trailKeyFor(userID string, day int64) string {
	return prefix + "trail:" + strconv.FormatInt(day, 10) + ":" + strconv.FormatUint(uint64(userShard(userID)), 10)
}

// trailKey is the trail hash a decision about userID made now goes to.
func (r *Redis) trailKey(userID string) string {
	return trailKeyFor(userID, r.trailDay(r.now()))
}

// trailDay is the day whose trail hash holds what is audited at t.
func (r *Redis) trailDay(t time.Time) int64 {
	if r.cfg.retention <= 0 {
		return 0
	}
	return t.UnixMilli() / dayMS
}

// trailDays are the days whose trail hashes may still hold entries, newest
// first: those of the retention and the day before it began.
func (r *Redis) trailDays() []int64 {
	if r.cfg.retention <= 0 {
		return []int64{0}
	}
	today := r.trailDay(r.now())
	n := int64((r.cfg.retention+time.Duration(dayMS)*time.Millisecond-1)/(time.Duration(dayMS)*time.Millisecond)) + 1
	days := make([]int64, 0, n+1)
	for d := today; d >= today-n && d >= 0; d-- {
		days = append(days, d)
	}
	return days
}

// Replay marks are kept in sets of 64-bit fingerprints, one set per shard
// and per replayWindow of time, instead of one key per webhook id: a key
// costs about 175 bytes, a fingerprint in a set of up to 512 integers
// (Redis's set-max-intset-entries default, which keeps it an intset) 8.
// mp:{mp}:seen:<window>:<shard> holds the marks first set in that window and
// expires the replay TTL after the window ends, so every mark lives at least
// its TTL and at most one window longer.
const (
	replayWindow = 5 * time.Minute
	replayShards = 1024
)

// replayPrint is the webhook id's fingerprint (the first 8 bytes of its
// SHA-256, as a signed integer Redis stores in an intset) and its shard. Two
// ids share a fingerprint with a chance of about one in 2^64 per pair: with
// a million marks kept, about one event in 18 trillion could be taken for a
// replay of another, an acceptable loss beside those the network causes.
func replayPrint(webhookID string) (int64, uint32) {
	sum := sha256.Sum256([]byte(webhookID))
	v := binary.BigEndian.Uint64(sum[:8])
	return int64(v), uint32(v>>54) % replayShards
}

// replayWindows are the windows a mark set at nowMS with ttl could still be
// kept in, oldest first: those from the one holding nowMS-ttl to the current.
func replayWindows(nowMS, ttlMS int64) (first, last int64) {
	w := int64(replayWindow / time.Millisecond)
	return max(nowMS-ttlMS, 0) / w, nowMS / w
}

func replaySetKey(window int64, shard uint32) string {
	return prefix + "seen:" + strconv.FormatInt(window, 10) + ":" + strconv.FormatUint(uint64(shard), 10)
}
