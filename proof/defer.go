package proof

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/store"
)

// maxDeferAge bounds deferral: a job still told to wait this long after it was enqueued
// (Auth0 rate-limiting us all day, a lock that never comes free) is dead-lettered for a
// person, so no job waits forever. Deferrals do not count as attempts, so only the age
// bounds them; it is generous because waiting is cheap and a login is proof worth keeping.
const maxDeferAge = 24 * time.Hour

// busyDelay is how long a job waits for another event of the same user to finish: that
// event holds the lock for about one Management API round trip, so a few seconds, with
// jitter so several queued logins do not come back together. Not exponential: the wait is
// for a neighbour, not for a failing dependency.
func busyDelay() time.Duration {
	return time.Second + time.Duration(rand.Int64N(int64(4*time.Second)+1))
}

// deferJob re-schedules a job that was told to wait, without counting an attempt, or
// dead-letters it once it has waited maxDeferAge.
func (w *Worker) deferJob(ctx context.Context, job store.Job, d Decision, log *zap.Logger) error {
	now := w.now()
	if age := now.Sub(job.EnqueuedAt); !job.EnqueuedAt.IsZero() && age >= maxDeferAge {
		d.Err = fmt.Errorf("still deferred (%s) %s after it was enqueued, more than the %s allowed: %w",
			d.Defer, age.Round(time.Second), maxDeferAge, d.Err)
		return w.deadLetter(ctx, job, d, log)
	}
	var due time.Time
	switch d.Defer {
	case DeferUserBusy:
		due = now.Add(w.busyDelay())
	case DeferMissingScope:
		due = now.Add(w.cfg.ScopePause) // back when the worker tries again
	case DeferAuth0Down:
		// Backs off over the deferrals, not the attempts it no longer spends, so a long
		// outage costs each job a call every RetryMax at most.
		due = now.Add(backoff(job.Deferrals+1, w.cfg.RetryBase, w.cfg.RetryMax))
	default:
		due = now.Add(backoff(job.Attempt, w.cfg.RetryBase, w.cfg.RetryMax))
	}
	if d.NotBefore.After(due) {
		due = d.NotBefore
	}
	// The audit trail records the episode once; the metric counts every deferral.
	if err := w.rdb.Defer(ctx, job, due, string(d.Defer), errString(d.Err)); err != nil {
		return err
	}
	w.metrics.attempts.WithLabelValues(string(d.Defer)).Inc()
	log.Info("job deferred; the attempt does not count", zap.Time("not_before", due), zap.String("reason", string(d.Defer)),
		zap.Int("deferrals", job.Deferrals+1), zap.Error(d.Err))
	return nil
}

// dropMalformed acknowledges and drops a job without a user id: the store refuses to
// finish, retry or dead-letter it, so left alone it would be reclaimed forever.
func (w *Worker) dropMalformed(parent context.Context, job store.Job, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), recordTimeout)
	defer cancel()
	if err := w.rdb.DropMalformed(ctx, job, "job has no user id"); err != nil {
		log.Error("could not drop a malformed job; it will be retried after the visibility timeout", zap.Error(err))
		return
	}
	w.metrics.outcomes.WithLabelValues(store.AuditMalformed).Inc()
	log.Error("malformed job: it has no user id; acknowledged and dropped (see the audit trail)", zap.String("webhook_id", job.WebhookID))
}
