package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Job is one queued post-login event for the worker.
type Job struct {
	ID         string // stream entry id; changes when a retry re-enqueues the job
	UserID     string
	WebhookID  string // stable across retries, reclaims and replays: the lock owner
	Payload    []byte
	Attempt    int // 1 for the first try, +1 per Retry
	EnqueuedAt time.Time
	LastError  string // the error of the previous attempt, if any
	// Deferrals counts the Defers of the job's current deferral episode: the
	// times it was told to wait since it was queued or last retried.
	// DeferReason is the latest one's reason. The episode's first Defer
	// audits it, later ones only count, and the Finish, Retry or DeadLetter
	// that ends it audits the count; jobs queued before these fields existed
	// read as 0 and "".
	Deferrals   int
	DeferReason string
	// Deliveries counts how often the stream handed this entry to a worker:
	// 1 from Read, more from Reclaim after workers died holding it. A job
	// that keeps killing workers shows up here and can be dead-lettered.
	Deliveries int
}

// Owner is the identity under which the job takes the verification lock:
// the webhook id, which survives retries, reclaims and DLQ replays, so the
// same event can always take its own lock again.
func (j Job) Owner() string {
	if j.WebhookID != "" {
		return j.WebhookID
	}
	return j.ID
}

// EnsureGroup creates the job stream and its consumer group if missing.
// The group starts at the beginning of the stream ("0"), so jobs enqueued
// while the group did not exist (Redis restarted, then a receiver enqueued
// before any worker read) are still delivered.
func (r *Redis) EnsureGroup(ctx context.Context) error {
	// The record layout is settled before the stream can be created: on an
	// empty Redis a job stream without a recorded layout would read as an
	// earlier release's (see RecordLayout).
	if _, err := r.RecordLayout(ctx); err != nil {
		return err
	}
	err := r.c.XGroupCreateMkStream(ctx, keyJobs, group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return wrap("create consumer group", err)
	}
	return nil
}

// Read takes up to count (at least 1) new jobs for consumer, waiting up to
// block for one to arrive (block <= 0: do not wait). Use a consumer name
// that is stable per replica (the pod name): the group keeps one entry per
// name. Unlike Redis's BLOCK 0 it never waits
// forever, so a worker loop always gets back to check its context. When
// the group is gone (Redis restarted empty or was flushed), Read recreates
// it and carries on.
func (r *Redis) Read(ctx context.Context, consumer string, count int, block time.Duration) ([]Job, error) {
	args := &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{keyJobs, ">"},
		Count: int64(max(count, 1)), Block: -1,
	}
	if block > 0 {
		args.Block = block
	}
	streams, err := r.c.XReadGroup(ctx, args).Result()
	if redis.HasErrorPrefix(err, "NOGROUP") {
		if err := r.EnsureGroup(ctx); err != nil {
			return nil, err
		}
		streams, err = r.c.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("read jobs", err)
	}
	var jobs []Job
	for _, s := range streams {
		for _, m := range s.Messages {
			j := jobFromMessage(m)
			j.Deliveries = 1
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// reclaimScans bounds the XAUTOCLAIM calls of one Reclaim. Each scans at
// most 10×count pending entries; where a call stops, the next one (in this
// Reclaim or the next) carries on, so a stuck job deep in a long pending
// list is reached within a few calls instead of never.
const reclaimScans = 8

// Reclaim takes over up to count (<= 0: 100) jobs that other consumers have held for at
// least minIdle without finishing them (their worker died or hung): the
// visibility timeout. Entries whose job was already deleted are dropped
// from the group by Redis on the way. It walks the group's pending list with
// XAUTOCLAIM's cursor, remembered between calls, until it has count jobs,
// has gone round to the start, or made reclaimScans calls.
func (r *Redis) Reclaim(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]Job, error) {
	if count <= 0 {
		count = 100
	}
	r.reclaimMu.Lock()
	defer r.reclaimMu.Unlock()
	start := r.reclaimFrom
	if start == "" {
		start = "0-0"
	}
	var msgs []redis.XMessage
	for range reclaimScans {
		got, next, err := r.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: keyJobs, Group: group, Consumer: consumer,
			MinIdle: minIdle, Start: start, Count: int64(count - len(msgs)),
		}).Result()
		if redis.HasErrorPrefix(err, "NOGROUP") {
			r.reclaimFrom = ""
			return nil, r.EnsureGroup(ctx) // a new group has nothing to reclaim
		}
		if err != nil {
			return nil, wrap("reclaim jobs", err)
		}
		msgs = append(msgs, got...)
		r.reclaimFrom = next
		if next == "0-0" || len(msgs) >= count {
			break // a full pass ended, or enough for now
		}
		start = next
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	// Delivery counts come from the group's pending list, one cheap
	// lookup per reclaimed job, all in one round trip.
	pipe := r.c.Pipeline()
	pend := make([]*redis.XPendingExtCmd, len(msgs))
	for i, m := range msgs {
		pend[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: keyJobs, Group: group, Start: m.ID, End: m.ID, Count: 1,
		})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("reclaim jobs", err)
	}
	jobs := make([]Job, 0, len(msgs))
	for i, m := range msgs {
		j := jobFromMessage(m)
		if p := pend[i].Val(); len(p) == 1 {
			j.Deliveries = int(p[0].RetryCount)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// jobFromMessage decodes a stream entry written by Ingest, MoveDue or
// ReplayDLQ.
func jobFromMessage(m redis.XMessage) Job {
	str := func(k string) string {
		s, _ := m.Values[k].(string)
		return s
	}
	attempt, err := strconv.Atoi(str("attempt"))
	if err != nil || attempt < 1 {
		attempt = 1
	}
	deferrals, err := strconv.Atoi(str("deferrals"))
	if err != nil || deferrals < 0 {
		deferrals = 0
	}
	payload := []byte(str("payload"))
	if b64, ok := m.Values["payload_b64"].(string); ok {
		// A retried job comes back from the delayed set's JSON, where the
		// payload travels base64-encoded.
		if p, err := base64.StdEncoding.DecodeString(b64); err == nil {
			payload = p
		}
	}
	return Job{
		ID:          m.ID,
		UserID:      str("user_id"),
		WebhookID:   str("webhook_id"),
		Payload:     payload,
		Attempt:     attempt,
		EnqueuedAt:  parseMS(str("enqueued_at")),
		LastError:   str("last_error"),
		Deferrals:   deferrals,
		DeferReason: str("defer_reason"),
	}
}

// auditArgs are the audit settings every auditing script takes last.
func (r *Redis) auditArgs() []any {
	return []any{r.cfg.auditMaxLen, r.cfg.userAuditSize, durMS(r.cfg.retention)}
}

// runAck runs a script that acknowledges a job; it returns 1 when it did
// and 0 when the job had already been acknowledged (a no-op).
func (r *Redis) runAck(ctx context.Context, op string, s *redis.Script, keys []string, args ...any) error {
	if err := r.runScript(ctx, strings.ReplaceAll(op, " ", "_"), s, keys, args...).Err(); err != nil {
		return wrap(op, err)
	}
	return nil
}

// checkJob rejects a Job that did not come from Read or Reclaim.
func checkJob(op string, j Job) error {
	if j.ID == "" || j.UserID == "" {
		return fmt.Errorf("%s: job without id or user id", op)
	}
	return nil
}
