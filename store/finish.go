package store

import (
	"context"
	"errors"
	"fmt"
)

// OutcomeVerified is the outcome code of a flipped flag: Finish with it and
// Close marks the record verified.
const OutcomeVerified = "verified"

// Outcome is the worker's decision about one job.
type Outcome struct {
	Code string // stable outcome code, as in the audit trail and metrics
	// Close ends the record: verified when Code is OutcomeVerified, else
	// closed with Code (already_verified, user_not_found, ...) so no later
	// login can verify it. Without Close the record keeps waiting for proof
	// (a negative about one login says nothing about the next), and a lock
	// this job holds is released.
	Close bool
}

// effect is the record transition the finish script applies.
func (o Outcome) effect() string {
	switch {
	case o.Close && o.Code == OutcomeVerified:
		return "verify"
	case o.Close:
		return "close"
	default:
		return "keep"
	}
}

// Claim takes the verification lock on userID's record for holder (use
// Job.Owner, the webhook id) before the worker PATCHes the user:
// pending -> verifying. It returns the record as it is after the attempt and
// true when holder holds the lock, including when it already did (a
// reclaimed job resuming after its worker died); false when the record is
// verified, closed, expired or held by another event; and ErrNotFound when
// there is no record. So two workers holding the same job both get true
// (and their PATCHes are the same idempotent write), while two events for
// the same user get true once.
func (r *Redis) Claim(ctx context.Context, userID, holder string) (Record, bool, error) {
	if userID == "" || holder == "" {
		return Record{}, false, errors.New("claim: empty user id or holder")
	}
	layout, err := r.layoutArg(ctx)
	if err != nil {
		return Record{}, false, wrap("claim", err)
	}
	v, err := r.scripts.claim.Run(ctx, r.c, []string{recordShardKey(userID), oldRecordKey(userID)}, holder, ms(r.now()), userID, layout).Slice()
	if err != nil {
		return Record{}, false, wrap("claim", err)
	}
	won, _ := v[0].(int64)
	if won < 0 {
		return Record{}, false, fmt.Errorf("claim: %w", ErrNotFound)
	}
	packed := ""
	if len(v) > 1 {
		packed, _ = v[1].(string)
	}
	return r.recordFromPacked(userID, packed), won == 1, nil
}

// Finish records the outcome of a job and acknowledges it in one atomic
// script: the record transition (see Outcome.Close), an audit entry, XACK
// and XDEL. Verified moves a pending or verifying record to verified
// whoever holds the lock (the flag is flipped: that is the truth); another
// closing outcome never closes a record that another event is verifying.
// The audit entry ends the job's deferral episode, if any (Deferrals and
// DeferReason). Finishing a job that is no longer pending in the group
// (another worker finished it after a reclaim) changes nothing and returns
// nil.
func (r *Redis) Finish(ctx context.Context, job Job, outcome Outcome) error {
	if err := checkJob("finish", job); err != nil {
		return err
	}
	if outcome.Code == "" {
		return errors.New("finish: empty outcome code")
	}
	layout, err := r.layoutArg(ctx)
	if err != nil {
		return wrap("finish", err)
	}
	keys := []string{keyJobs, recordShardKey(job.UserID), pendingIndexKey(job.UserID), keyAudit, r.trailKey(job.UserID), keyPendingIndex, oldRecordKey(job.UserID)}
	args := append([]any{
		group, job.ID, outcome.effect(), outcome.Code, job.Owner(), ms(r.now()),
		encodeID(job.UserID), job.UserID, job.WebhookID, job.Attempt, max(job.Deferrals, 0), job.DeferReason,
	}, append(r.auditArgs(), layout)...)
	return r.runAck(ctx, "finish", r.scripts.finish, keys, args...)
}
