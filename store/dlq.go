package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrMalformedJob reports a job or dead letter without a user id: nothing
// can claim, finish or dead-letter it, so it is refused rather than queued.
var ErrMalformedJob = errors.New("malformed job: no user id")

// replayMarkTTL is how long ReplayDLQ remembers which job a dead letter
// became: long enough for a re-sent script or a re-run command, short
// enough that the marks never pile up.
const replayMarkTTL = time.Hour

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
// audits it, with its deferral episode if any, atomically. Dead-lettering a
// job that is no longer pending in the group does nothing.
func (r *Redis) DeadLetter(ctx context.Context, job Job, lastErr string) error {
	if err := checkJob("dead letter", job); err != nil {
		return err
	}
	layout, err := r.layoutArg(ctx)
	if err != nil {
		return wrap("dead letter", err)
	}
	now := r.now()
	keys := []string{keyJobs, keyDLQ, recordShardKey(job.UserID), keyAudit, r.trailKey(job.UserID), oldRecordKey(job.UserID)}
	args := append([]any{
		group, job.ID, job.UserID, job.WebhookID, job.Payload, max(job.Attempt, 1),
		ms(orNow(job.EnqueuedAt, now)), lastErr, ms(now), job.Owner(), r.cfg.dlqMaxLen,
		max(job.Deferrals, 0), job.DeferReason,
	}, append(r.auditArgs(), layout)...)
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

// ReplayDLQ puts the dead letter with entry id back on the job stream as a
// fresh job (attempt 1, enqueued now) and removes it from the dead-letter
// stream, atomically, returning the new job id; ErrNotFound when there is
// no such dead letter, ErrMalformedJob for one without a user id (a delayed
// job that did not decode: replayed, it could never be acknowledged). It is
// idempotent for replayMarkTTL: replaying the same id again, or go-redis
// re-sending the script after a lost reply, returns the same new job id.
// The worker will claim the record as usual, so replaying a job whose user
// was verified meanwhile does nothing harmful.
func (r *Redis) ReplayDLQ(ctx context.Context, id string) (string, error) {
	mark := replayedKey(id)
	// The user's audit key depends on the entry, so read it first; the
	// script reads it again atomically and replays what it finds.
	msgs, err := r.c.XRangeN(ctx, keyDLQ, id, id, 1).Result()
	if err != nil {
		return "", wrap("replay dead letter", err)
	}
	if len(msgs) == 0 {
		// Already replayed (the entry is gone, its mark says where to)?
		jobID, err := r.c.Get(ctx, mark).Result()
		if errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("replay dead letter %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return "", wrap("replay dead letter", err)
		}
		return jobID, nil
	}
	dead := deadJobFromMessage(msgs[0])
	if dead.Job.UserID == "" {
		return "", fmt.Errorf("replay dead letter %s: no user id (%s): %w", id, dead.Error, ErrMalformedJob)
	}
	keys := []string{keyDLQ, keyJobs, keyAudit, r.trailKey(dead.Job.UserID), mark}
	args := append([]any{id, ms(r.now()), durMS(replayMarkTTL)}, r.auditArgs()...)
	jobID, err := r.runScript(ctx, "replay", r.scripts.replay, keys, args...).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return "", fmt.Errorf("replay dead letter %s: %w", id, ErrNotFound)
	case redis.HasErrorPrefix(err, "NOUSER"):
		return "", fmt.Errorf("replay dead letter %s: no user id: %w", id, ErrMalformedJob)
	case err != nil:
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
