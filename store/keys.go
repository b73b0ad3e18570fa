package store

import (
	"encoding/base64"
	"strconv"
	"time"
)

// Every key starts with prefix. The {mp} hash tag puts all of them in one
// Redis Cluster slot, so every Lua script may touch any of them (see doc.go).
const prefix = "mp:{mp}:"

// Fixed keys. doc.go describes each one.
const (
	keyPendingIndex  = prefix + "pending-index"
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

func pendingKey(userID string) string   { return idKey("pending:", userID) }
func replayKey(webhookID string) string { return idKey("replay:", webhookID) }
func userAuditKey(userID string) string { return idKey("audit:", userID) }
func sweepRunKey(run string) string     { return idKey("reconcile-run:", run) }

// emailKey is the record index by address (normalized); addresses come from outside
// like ids, so they are encoded the same way.
func emailKey(normalized string) string { return idKey("email:", normalized) }

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
