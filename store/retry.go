package store

import (
	"context"
	"encoding/base64"
	"time"
)

// DefaultMoveLimit is how many due jobs MoveDue moves per call for
// limit <= 0.
const DefaultMoveLimit = 100

// Retry acknowledges a job whose attempt failed for a reason worth trying
// again (Auth0 5xx, timeout) and parks it in the delayed set until due,
// with Attempt+1 and lastErr, atomically; MoveDue brings it back. The job
// keeps any verification lock it holds: its Owner is stable across retries.
// A counted retry ends the job's deferral episode: its audit entry carries
// Deferrals and DeferReason, and the job comes back with none.
// Retrying a job that is no longer pending in the group does nothing.
func (r *Redis) Retry(ctx context.Context, job Job, due time.Time, lastErr string) error {
	return r.park(ctx, "retry", job, due, max(job.Attempt, 1)+1, AuditRetry, job.DeferReason, lastErr)
}

// Defer is Retry for a job that was told to wait rather than failed: a 429
// from Auth0, another event holding the user's lock, the shared budget
// saturated; reason says which (a closed set of codes), lastErr what was
// said. The job comes back at due with the same Attempt, so waiting never
// uses up MaxAttempts. Deferrals are audited once per episode, so a job
// that waits many times does not push the entries that explain the user's
// state out of the per-user trail: the first Defer of an episode writes an
// AuditDeferred entry with reason, later ones only count in the job
// (Deferrals+1, DeferReason = reason), and whatever ends the episode
// (Finish, Retry, DeadLetter) writes the count. Callers bound deferral
// themselves (the worker by the job's age since EnqueuedAt, which Defer
// keeps).
func (r *Redis) Defer(ctx context.Context, job Job, due time.Time, reason, lastErr string) error {
	return r.park(ctx, "defer", job, due, max(job.Attempt, 1), AuditDeferred, reason, lastErr)
}

// park runs the retry script: acknowledge the job and put it in the delayed
// set as attempt next.
func (r *Redis) park(ctx context.Context, op string, job Job, due time.Time, next int, outcome, reason, lastErr string) error {
	if err := checkJob(op, job); err != nil {
		return err
	}
	now := r.now()
	keys := []string{keyJobs, keyDelayed, keyAudit, r.trailKey(job.UserID)}
	args := append([]any{
		group, job.ID, ms(due), job.UserID, job.WebhookID, base64.StdEncoding.EncodeToString(job.Payload),
		max(job.Attempt, 1), next, ms(orNow(job.EnqueuedAt, now)), lastErr, ms(now), outcome,
		max(job.Deferrals, 0), reason,
	}, r.auditArgs()...)
	return r.runAck(ctx, op, r.scripts.retry, keys, args...)
}

// MoveDue moves up to limit delayed jobs due at or before now back to the
// job stream and reports how many it moved. Any number of replicas may run
// it at once: each job moves exactly once.
func (r *Redis) MoveDue(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = DefaultMoveLimit
	}
	n, err := r.scripts.moveDue.Run(ctx, r.c, []string{keyDelayed, keyJobs, keyDLQ},
		ms(now), limit, r.cfg.dlqMaxLen).Int()
	if err != nil {
		return 0, wrap("move due jobs", err)
	}
	return n, nil
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}
