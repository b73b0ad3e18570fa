package store

import (
	"context"
	"errors"
)

// DropMalformed acknowledges and deletes a job without a user id (a dead
// letter of an undecodable delayed job replayed before ReplayDLQ refused
// those, or an entry written by hand) and records AuditMalformed with
// reason in the global audit trail, atomically. Such a job has no record to
// claim or finish, and Finish, Retry and DeadLetter refuse it, so without
// this it would be reclaimed forever. Dropping a job that is no longer
// pending in the group does nothing.
func (r *Redis) DropMalformed(ctx context.Context, job Job, reason string) error {
	if job.ID == "" {
		return errors.New("drop malformed job: job without id")
	}
	return r.runAck(ctx, "drop malformed job", r.scripts.drop, []string{keyJobs, keyAudit},
		group, job.ID, job.WebhookID, max(job.Attempt, 1), reason, ms(r.now()), r.cfg.auditMaxLen)
}
