package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Ingest statuses.
const (
	IngestQueued     = "queued"      // the job is on the stream
	IngestDuplicate  = "duplicate"   // the webhook id was seen before; nothing done
	IngestNotPending = "not_pending" // no pending record; marked as seen, nothing queued
)

// IngestRequest is one verified post-login event to take in.
type IngestRequest struct {
	WebhookID string
	UserID    string
	// ReplayTTL is how long the webhook id is remembered at least (marks
	// expire a window at a time, so up to replayWindow longer); it must
	// cover the signature timestamp tolerance on both sides (twice the
	// tolerance).
	ReplayTTL time.Duration
	// Payload is the job body the worker will decode: the event JSON, trimmed
	// to what the policy reads (event.PostLogin.AppendJobPayload).
	// Ingest reads it until it returns. After an error a batch in flight may
	// still be sending it, so a caller may reuse the buffer after a nil error
	// only.
	Payload []byte
}

// IngestResult says what Ingest did.
type IngestResult struct {
	Status string // IngestQueued, IngestDuplicate or IngestNotPending
	JobID  string // the stream id when queued
}

// Ingest drops replays, checks the user's pending record and enqueues the
// job, in one atomic script and one round trip. For many concurrent callers
// an Ingester does the same with far fewer round trips and script calls.
func (r *Redis) Ingest(ctx context.Context, in IngestRequest) (IngestResult, error) {
	ev, err := r.ingestEvent(in)
	if err != nil {
		return IngestResult{}, err
	}
	res, errs := r.ingestBatch(ctx, []ingestEvent{ev})
	return res[0], errs[0]
}

// ingestBatch runs the ingest script once for evs and splits its reply into
// each event's result or error. Run sends EVALSHA, and EVAL (which caches
// the script again) after a Redis restart emptied the script cache.
func (r *Redis) ingestBatch(ctx context.Context, evs []ingestEvent) ([]IngestResult, []error) {
	now := r.now().UnixMilli()
	keys := make([]string, 1, 1+7*len(evs))
	keys[0] = keyJobs
	args := make([]any, 1, 1+6*len(evs))
	args[0] = strconv.FormatInt(now, 10)
	for i := range evs {
		ev := &evs[i]
		first, last := replayWindows(now, ev.ttlMS)
		keys = append(keys, ev.records, ev.record, ev.oldMark)
		for w := first; w <= last; w++ {
			keys = append(keys, replaySetKey(w, ev.shard))
		}
		expireAt := (last+1)*int64(replayWindow/time.Millisecond) + ev.ttlMS
		args = append(args, expireAt, ev.userID, ev.webhookID, ev.payload, ev.print, last-first+1)
	}
	return ingestResults(r.runScript(ctx, "ingest", r.scripts.ingest, keys, args...), len(evs))
}

// ingestEvent is one event's part of an ingest script call (see
// lua/ingest.lua); its window sets are named when the batch reads the clock.
type ingestEvent struct {
	records, record   string // the user's record shard and hash of the layouts before
	oldMark           string
	userID, webhookID string
	payload           []byte
	ttlMS             int64
	print             int64
	shard             uint32
}

func (r *Redis) ingestEvent(in IngestRequest) (ingestEvent, error) {
	switch {
	case in.WebhookID == "":
		return ingestEvent{}, errors.New("ingest: empty webhook id")
	case in.UserID == "":
		return ingestEvent{}, errors.New("ingest: empty user id")
	case in.ReplayTTL <= 0:
		return ingestEvent{}, errors.New("ingest: replay ttl must be positive")
	}
	print, shard := replayPrint(in.WebhookID)
	return ingestEvent{
		records: recordShardKey(in.UserID), record: oldRecordKey(in.UserID), oldMark: replayKey(in.WebhookID),
		userID: in.UserID, webhookID: in.WebhookID, payload: in.Payload,
		ttlMS: int64((in.ReplayTTL + time.Millisecond - 1) / time.Millisecond),
		print: print, shard: shard,
	}, nil
}

// ingestResults splits the reply of a script call for n events into each
// event's result or error. A failed call fails every event in it.
func ingestResults(cmd *redis.Cmd, n int) ([]IngestResult, []error) {
	res, errs := make([]IngestResult, n), make([]error, n)
	v, err := cmd.StringSlice()
	if err == nil && len(v) != 2*n {
		err = fmt.Errorf("unexpected script reply of %d entries for %d events", len(v), n)
	}
	for i := range n {
		switch {
		case err != nil:
			errs[i] = wrap("ingest", err)
		case v[2*i] == "error":
			errs[i] = fmt.Errorf("ingest: %s", v[2*i+1])
		default:
			res[i] = IngestResult{Status: v[2*i], JobID: v[2*i+1]}
		}
	}
	return res, errs
}

// ReplayMark reports how long webhookID's replay mark is still kept, 0 when
// it has none in the windows a replay TTL of ttl covers (nor a mark of the
// layout before window sets). Ingest is what consults the marks; this is
// for tests and for diagnosing a webhook an operator says was dropped.
func (r *Redis) ReplayMark(ctx context.Context, webhookID string, ttl time.Duration) (time.Duration, error) {
	if left, err := r.c.PTTL(ctx, replayKey(webhookID)).Result(); err != nil {
		return 0, wrap("read replay mark", err)
	} else if left > 0 {
		return left, nil
	}
	print, shard := replayPrint(webhookID)
	first, last := replayWindows(r.now().UnixMilli(), ttl.Milliseconds())
	for w := last; w >= first; w-- {
		key := replaySetKey(w, shard)
		ok, err := r.c.SIsMember(ctx, key, print).Result()
		if err != nil {
			return 0, wrap("read replay mark", err)
		}
		if ok {
			left, err := r.c.PTTL(ctx, key).Result()
			if err != nil {
				return 0, wrap("read replay mark", err)
			}
			return max(left, 0), nil
		}
	}
	return 0, nil
}
