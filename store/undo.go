package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Audit outcomes of the undo list (see Undo).
const (
	// AuditFlipUndone: a flip mailproof took back, email_verified set to
	// false again on a user whose address had changed under the flip.
	AuditFlipUndone = "flip_undone"
	// AuditFlipChecked: a check undo read the user and found nothing to
	// take back.
	AuditFlipChecked = "flip_checked"
)

// Undo is a flip to take back. The worker writes one when a PATCH answer
// (or the read that resumes an interrupted attempt) shows email_verified
// true on an address other than the provisioned one, before it calls
// Auth0 to set the flag false again; it stays until that call succeeded.
// So a crash, a Redis blip after the write or an Auth0 outage delays an
// undo but never loses it, and the worker loops try due undos before they
// take the next job.
//
// Check asks for a read first: the job gave up after a PATCH whose answer
// never came, so nobody knows which address it landed on.
type Undo struct {
	UserID    string    `json:"user_id"`
	JobID     string    `json:"job_id"`
	WebhookID string    `json:"webhook_id"`
	Check     bool      `json:"check,omitempty"`
	Since     time.Time `json:"-"`
	NextAt    time.Time `json:"-"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	// Gen is the entry's generation: every listing bumps it, and UndoDone removes only
	// the generation its caller worked on.
	Gen int `json:"gen"`
}

// undoWire is Undo as stored: times in Unix milliseconds, like every time
// in Redis, so the script compares numbers.
type undoWire struct {
	Undo
	SinceMS  int64 `json:"since"`
	NextAtMS int64 `json:"next_at"`
}

// ScheduleUndo records that u.UserID's flip must be taken back and returns the
// generation listed. The caller that is about to make the call itself holds it for held
// (as if it had taken it with TakeDueUndos); after that, or at once when held is 0, any
// replica's loop takes it. One entry per user: listing again keeps the entry under a new
// generation (a plain undo replacing a check), so a replica finishing the old generation
// cannot remove it.
func (r *Redis) ScheduleUndo(ctx context.Context, u Undo, held time.Duration) (int, error) {
	if u.UserID == "" {
		return 0, errors.New("schedule undo: empty user id")
	}
	now := r.now()
	w := undoWire{Undo: u, SinceMS: now.UnixMilli(), NextAtMS: now.Add(held).UnixMilli()}
	w.Attempts = 0
	v, err := json.Marshal(w)
	if err != nil {
		return 0, fmt.Errorf("schedule undo: %w", err)
	}
	gen, err := r.runScript(ctx, "undo_schedule", r.scripts.undo, []string{keyUndo, keyAudit, keyAudit}, "schedule", encodeID(u.UserID), v).Int()
	if err != nil {
		return 0, wrap("schedule undo", err)
	}
	return gen, nil
}

// TakeDueUndos returns up to limit undos that are due, each leased for
// lease: another replica does not take it again before then, and a
// replica that dies holding it only delays it by the lease.
func (r *Redis) TakeDueUndos(ctx context.Context, lease time.Duration, limit int) ([]Undo, error) {
	vs, err := r.scripts.undo.Run(ctx, r.c, []string{keyUndo, keyAudit, keyAudit}, "take", ms(r.now()), durMS(lease), max(limit, 1)).StringSlice()
	if err != nil {
		return nil, wrap("take due undos", err)
	}
	out := make([]Undo, 0, len(vs))
	for _, v := range vs {
		var w undoWire
		if err := json.Unmarshal([]byte(v), &w); err != nil || w.UserID == "" {
			return out, fmt.Errorf("take due undos: unreadable entry %q", v)
		}
		w.Since, w.NextAt = time.UnixMilli(w.SinceMS), time.UnixMilli(w.NextAtMS)
		out = append(out, w.Undo)
	}
	return out, nil
}

// UndoFailed keeps u for another try at next, noting why this one failed.
func (r *Redis) UndoFailed(ctx context.Context, u Undo, next time.Time, cause string) error {
	if err := r.runScript(ctx, "undo_fail", r.scripts.undo, []string{keyUndo, keyAudit, keyAudit}, "fail", encodeID(u.UserID), ms(next), cause).Err(); err != nil {
		return wrap("record failed undo", err)
	}
	return nil
}

// UndoDone removes generation gen of userID's undo and records it in the audit trail
// as outcome (AuditFlipUndone or AuditFlipChecked) with result, what the final call
// found. It reports whether it did: false means another replica finished it first, or
// it was listed again meanwhile and stays for the loop.
func (r *Redis) UndoDone(ctx context.Context, userID string, gen int, outcome, result string) (bool, error) {
	args := append([]any{"done", encodeID(userID), ms(r.now()), result, outcome}, r.auditArgs()...)
	args = append(args, gen)
	n, err := r.runScript(ctx, "undo_done", r.scripts.undo, []string{keyUndo, keyAudit, r.trailKey(userID)}, args...).Int()
	if err != nil {
		return false, wrap("finish undo", err)
	}
	return n == 1, nil
}

// Undos returns every undo still waiting, for the status page and metrics.
// There are none unless something went wrong, so reading them all is
// cheap.
func (r *Redis) Undos(ctx context.Context) ([]Undo, error) {
	h, err := r.c.HGetAll(ctx, keyUndo).Result()
	if err != nil {
		return nil, wrap("list undos", err)
	}
	out := make([]Undo, 0, len(h))
	for _, v := range h {
		var w undoWire
		if json.Unmarshal([]byte(v), &w) != nil {
			continue
		}
		w.Since, w.NextAt = time.UnixMilli(w.SinceMS), time.UnixMilli(w.NextAtMS)
		out = append(out, w.Undo)
	}
	return out, nil
}
