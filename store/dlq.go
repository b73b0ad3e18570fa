package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DeadJob is a job that exhausted its retries, as kept in the dead-letter
// stream.
type DeadJob struct {
	ID  string // dead-letter entry id, for ReplayDLQ
	Job Job    // Job.ID is the stream id it had when it died
	// Error is the last attempt's error; DiedAt when it was dead-lettered.
	Error  string
	DiedAt time.Time
}

// DeadLetter acknowledges a job that will not be retried, keeps it in the
// capped dead-letter stream with lastErr, releases the verification lock it
// may hold (so a later login or the sweep can still verify the user) and
// audits it, atomically. Dead-lettering a job that is no longer pending in
// the group does nothing.
func (r *Redis) DeadLetter(ctx context.Context, job Job, lastErr string) error {
	if err := checkJob("dead letter", job); err != nil {
		return err
	}
	now := r.now()
	keys := []string{keyJobs, keyDLQ, pendingKey(job.UserID), keyAudit, userAuditKey(job.UserID)}
	args := append([]any{
		group, job.ID, job.UserID, job.WebhookID, job.Payload, max(job.Attempt, 1),
		ms(orNow(job.EnqueuedAt, now)), lastErr, ms(now), job.Owner(), r.cfg.dlqMaxLen,
	}, r.auditArgs()...)
	return r.runAck(ctx, "dead letter", r.scripts.deadLetter, keys, args...)
}

// ListDLQ returns up to limit dead letters, newest first (limit <= 0 means
// DefaultListLimit, capped at MaxListLimit).
func (r *Redis) ListDLQ(ctx context.Context, limit int) ([]DeadJob, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	msgs, err := r.c.XRevRangeN(ctx, keyDLQ, "+", "-", int64(min(limit, MaxListLimit))).Result()
	if err != nil {
		return nil, wrap("list dead letters", err)
	}
	out := make([]DeadJob, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, deadJobFromMessage(m))
	}
	return out, nil
}

// ReplayDLQ puts dead letter id back on the job stream as a fresh job
// (attempt 1, enqueued now) and removes it from the dead-letter stream,
// atomically, returning the new job id; ErrNotFound when there is no such
// dead letter. The worker will claim the record as usual, so replaying a
// job whose user was verified meanwhile does nothing harmful.
func (r *Redis) ReplayDLQ(ctx context.Context, id string) (string, error) {
	// The user's audit key depends on the entry, so read it first; the
	// script reads it again atomically and replays what it finds.
	msgs, err := r.c.XRangeN(ctx, keyDLQ, id, id, 1).Result()
	if err != nil {
		return "", wrap("replay dead letter", err)
	}
	if len(msgs) == 0 {
		return "", fmt.Errorf("replay dead letter %s: %w", id, ErrNotFound)
	}
	dead := deadJobFromMessage(msgs[0])
	keys := []string{keyDLQ, keyJobs, keyAudit, userAuditKey(dead.Job.UserID)}
	args := append([]any{id, ms(r.now())}, r.auditArgs()...)
	jobID, err := r.scripts.replay.Run(ctx, r.c, keys, args...).Text()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("replay dead letter %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", wrap("replay dead letter", err)
	}
	return jobID, nil
}

func deadJobFromMessage(m redis.XMessage) DeadJob {
	j := jobFromMessage(m)
	j.ID, _ = m.Values["job_id"].(string)
	failed, _ := m.Values["failed_at"].(string)
	return DeadJob{ID: m.ID, Job: j, Error: j.LastError, DiedAt: parseMS(failed)}
}
