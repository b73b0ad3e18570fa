package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/event"
)

// Audit outcomes of what operators do to records, beside the worker's decisions.
const (
	AuditRegistered  = "registered"  // an existing user was registered as pending
	AuditProvisioned = "provisioned" // mailproof created the user and registered it
	AuditAdopted     = "adopted"     // a user mailproof did not create was registered by --adopt
	AuditDelivered   = "delivered"   // the reset email or ticket went out (detail: which, and the count)
	AuditDeleted     = "deleted"     // an operator removed the record
)

// Who made a change, for the audit trail's "by".
const (
	AuditByCLI      = "cli"
	AuditByAdminAPI = "admin_api"
)

// FindByEmail returns the record that holds an address (compared in event's form), or
// ErrNotFound; of several, the one updated last. It lets a provisioning run that was
// interrupted find its own users without asking Auth0.
func (r *Redis) FindByEmail(ctx context.Context, email string) (Record, error) {
	norm := event.NormalizeEmail(email)
	print, shard := emailPrint(norm)
	weeks, err := r.c.ZRange(ctx, keyEmailWeeks, 0, -1).Result()
	if err != nil {
		return Record{}, wrap("find by email", err)
	}
	// The address's field in every week's shard, and its key of the layout
	// before shards: one round trip.
	cmds := make([]*redis.StringCmd, 0, len(weeks)+1)
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		cmds = append(cmds, p.Get(ctx, emailKey(norm)))
		for _, w := range weeks {
			week, _ := strconv.ParseInt(w, 10, 64)
			cmds = append(cmds, p.HGet(ctx, emailIndexKey(week, shard), strconv.FormatInt(print, 10)))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Record{}, wrap("find by email", err)
	}
	var users []string
	for _, c := range cmds {
		id, err := c.Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return Record{}, wrap("find by email", err)
		case !slices.Contains(users, id):
			users = append(users, id)
		}
	}
	if len(users) == 0 {
		return Record{}, fmt.Errorf("find by email: %w", ErrNotFound)
	}
	recs, errs := r.GetMany(ctx, users)
	var found *Record
	for i, rec := range recs {
		switch {
		case errors.Is(errs[i], ErrNotFound):
			continue // the entry outlived its record
		case errs[i] != nil:
			return Record{}, fmt.Errorf("find by email: %w", errs[i])
		}
		// Only a record that holds the address is an answer: an entry may have
		// outlived a record replaced with another address, or belong to another
		// address with the same fingerprint (emailPrint). Found or not, a user
		// is never given another user's record.
		if rec.Email != norm {
			continue
		}
		if found == nil || rec.UpdatedAt.After(found.UpdatedAt) {
			found = &recs[i]
		}
	}
	if found == nil {
		return Record{}, fmt.Errorf("find by email: %w", ErrNotFound)
	}
	return *found, nil
}

// StartDelivery marks userID's pending record as being sent its link, before the send:
// a run that dies mid-send leaves the mark, and the next run knows not to send blindly.
// It reports false when the record is missing or no longer waiting.
func (r *Redis) StartDelivery(ctx context.Context, userID, delivery string) (bool, error) {
	return r.delivery(ctx, "start", userID, delivery, "")
}

// FinishDelivery records that the link went out: the count, the time, and an audit
// entry by who asked.
func (r *Redis) FinishDelivery(ctx context.Context, userID, delivery, by string) (bool, error) {
	return r.delivery(ctx, "done", userID, delivery, by)
}

// AbortDelivery takes StartDelivery's mark off: the send certainly did not happen
// (Auth0 refused it, or it was never made), so the next run may deliver.
func (r *Redis) AbortDelivery(ctx context.Context, userID string) error {
	_, err := r.delivery(ctx, "abort", userID, "", "")
	return err
}

func (r *Redis) delivery(ctx context.Context, op, userID, delivery, by string) (bool, error) {
	layout, err := r.layoutArg(ctx)
	if err != nil {
		return false, wrap("record delivery", err)
	}
	args := append([]any{op, ms(r.now()), delivery, by}, append(r.auditArgs(), userID, layout)...)
	n, err := r.scripts.delivery.Run(ctx, r.c, []string{recordShardKey(userID), keyAudit, r.trailKey(userID), oldRecordKey(userID)}, args...).Int()
	if err != nil {
		return false, wrap("record delivery", err)
	}
	return n == 1, nil
}

// Note writes one audit entry about userID: an operator's change (outcome, one of the
// Audit* codes above), by whom, and a short detail.
func (r *Redis) Note(ctx context.Context, userID, outcome, by, detail string) error {
	args := append([]any{ms(r.now()), userID, outcome, by, detail}, r.auditArgs()...)
	if err := r.scripts.note.Run(ctx, r.c, []string{keyAudit, r.trailKey(userID)}, args...).Err(); err != nil {
		return wrap("audit", err)
	}
	return nil
}

// ResetEmailInterval is Auth0's limit on reset emails to one address from one IP
// address (after a burst): one a minute.
const ResetEmailInterval = time.Minute

// ReserveResetEmail claims the address's one reset email of the minute for every
// replica. It returns 0 when the email may go now, or how long to wait.
func (r *Redis) ReserveResetEmail(ctx context.Context, email string) (time.Duration, error) {
	key := idKey("reset-sent:", event.NormalizeEmail(email))
	ok, err := r.c.SetNX(ctx, key, "1", ResetEmailInterval).Result()
	if err != nil {
		return 0, wrap("reserve reset email", err)
	}
	if ok {
		return 0, nil
	}
	left, err := r.c.PTTL(ctx, key).Result()
	if err != nil {
		return 0, wrap("reserve reset email", err)
	}
	return max(left, time.Millisecond), nil
}

// ReleaseResetEmail gives the address's reservation back: the email certainly did not
// go (Auth0 refused it, or it was never asked).
func (r *Redis) ReleaseResetEmail(ctx context.Context, email string) error {
	if err := r.c.Del(ctx, idKey("reset-sent:", event.NormalizeEmail(email))).Err(); err != nil {
		return wrap("release reset email", err)
	}
	return nil
}
