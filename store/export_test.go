package store

import (
	"context"
	"strconv"
	"time"
)

// RunReplayScript runs the replay script alone, as go-redis re-sends it
// after a reply timeout: without ReplayDLQ's reads before it.
func RunReplayScript(ctx context.Context, r *Redis, dlqID, userID string) (string, error) {
	keys := []string{keyDLQ, keyJobs, keyAudit, r.trailKey(userID), replayedKey(dlqID)}
	args := append([]any{dlqID, ms(r.now()), durMS(replayMarkTTL)}, r.auditArgs()...)
	return r.scripts.replay.Run(ctx, r.c, keys, args...).Text()
}

// IngestBatch runs one ingest script call for several events, as the
// Ingester's flusher does, so a test can put chosen events in one batch.
func IngestBatch(ctx context.Context, r *Redis, reqs []IngestRequest) ([]IngestResult, []error) {
	evs := make([]ingestEvent, len(reqs))
	for i, req := range reqs {
		ev, err := r.ingestEvent(req)
		if err != nil {
			panic(err)
		}
		evs[i] = ev
	}
	return r.ingestBatch(ctx, evs)
}

// OldRecordKey is the key of a user's record hash in the layouts before
// packed records.
func OldRecordKey(userID string) string { return oldRecordKey(userID) }

// RecordShardKey is the hash holding a user's packed record as a field.
func RecordShardKey(userID string) string { return recordShardKey(userID) }

// ReplayKey is the key of a webhook id's replay mark in the layout before
// window sets.
func ReplayKey(webhookID string) string { return replayKey(webhookID) }

// ReplayMarked reports whether webhookID has a replay mark in any window set of the
// last hour, and the remaining lifetime of the set that holds it.
func ReplayMarked(ctx context.Context, r *Redis, webhookID string) (bool, time.Duration) {
	left, err := r.ReplayMark(ctx, webhookID, time.Hour)
	if err != nil {
		panic(err)
	}
	return left > 0, left
}

// ReplayWindow is how long one window set takes in first marks.
const ReplayWindow = replayWindow

// TrailKey is the trail hash a decision about userID made now goes to.
func TrailKey(r *Redis, userID string) string { return r.trailKey(userID) }

// UserAuditKey is a user's audit stream in the layout before trails.
func UserAuditKey(userID string) string { return userAuditKey(userID) }

// SetClock makes the store read the time from now; set it before any call.
func SetClock(r *Redis, now func() time.Time) { r.now = now }

// EmailIndexEntry is where the email index keeps address for a record whose key
// expires at keyExpiry (zero: never): the hash and the field.
func EmailIndexEntry(address string, keyExpiry time.Time) (key, field string) {
	print, shard := emailPrint(address)
	var at int64
	if !keyExpiry.IsZero() {
		at = keyExpiry.UnixMilli()
	}
	week, _ := emailWeek(at)
	return emailIndexKey(week, shard), strconv.FormatInt(print, 10)
}

// EmailKey is an address's email index key in the layout before shards.
func EmailKey(address string) string { return emailKey(address) }

// EncodeID is how an id appears in keys and index members.
func EncodeID(id string) string { return encodeID(id) }

// PendingIndexKey is the pending index shard holding userID.
func PendingIndexKey(userID string) string { return pendingIndexKey(userID) }

// ClearTidyLease lets the next TidyRecords run at once, as if the lease ran out.
func ClearTidyLease(ctx context.Context, r *Redis) error { return r.c.Del(ctx, keyTidy).Err() }

// StaleEntries are the pending index entries of users, as a listing that found
// their records not waiting would pass them to Unindex.
func StaleEntries(r *Redis, users ...string) []staleEntry {
	out := make([]staleEntry, len(users))
	for i, u := range users {
		out[i] = staleEntry{key: pendingIndexKey(u), member: u, user: u}
	}
	return out
}

// Unindex is the listing's removal of stale entries.
func Unindex(ctx context.Context, r *Redis, stale []staleEntry) error { return r.unindex(ctx, stale) }
