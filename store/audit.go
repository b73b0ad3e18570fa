package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Audit outcome codes the queue itself writes; every other code is an
// Outcome.Code passed to Finish.
const (
	AuditRetry      = "retry"         // AuditRetry: the attempt failed and will be retried.
	AuditDeadLetter = "dead_letter"   // AuditDeadLetter: the job gave up, kept in the dead-letter stream.
	AuditReplayed   = "replayed"      // AuditReplayed: an operator put a dead letter back on the queue.
	AuditDeferred   = "deferred"      // AuditDeferred: the job was told to wait, the first time of an episode; the attempt does not count.
	AuditMalformed  = "malformed_job" // AuditMalformed: a job without a user id was acknowledged and dropped.
)

// AuditEntry is one decision in the audit trail.
type AuditEntry struct {
	ID        string    `json:"id"` // audit stream entry id
	Time      time.Time `json:"time"`
	UserID    string    `json:"user_id"`
	Outcome   string    `json:"outcome"`
	WebhookID string    `json:"webhook_id,omitempty"`
	JobID     string    `json:"job_id,omitempty"`
	Attempt   int       `json:"attempt"`
	Error     string    `json:"error,omitempty"` // for retry, deferred and dead_letter
	// DeferReason is why the job was told to wait (rate_limited, user_busy,
	// budget_wait, missing_scope): on a deferred entry, the reason its episode started; on
	// the entry that ended an episode, the last one.
	DeferReason string `json:"defer_reason,omitempty"`
	// Deferrals, on the entry that ended a deferral episode (a finish, a
	// retry, a dead letter), is how many times the job was deferred in it:
	// the episode's deferred entry stands for all of them.
	Deferrals int `json:"deferrals,omitempty"`
	// By is who made an operator's change (AuditByCLI, AuditByAdminAPI); Detail says
	// what it was, briefly.
	By     string `json:"by,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Deferral describes the entry's part in a deferral episode for a person:
// "deferred ×37 (user_busy)" on the entry that ended one, the reason on the
// deferred entry that started it, "" on any other.
func (e AuditEntry) Deferral() string {
	switch {
	case e.Deferrals > 0:
		return fmt.Sprintf("deferred ×%d (%s)", e.Deferrals, e.DeferReason)
	case e.Outcome == AuditDeferred:
		return e.DeferReason
	}
	return ""
}

// Audit returns up to limit decisions, newest first: about userID (from the
// user's own trail, the last 100 kept for the retention period), or about
// everyone when userID is "" (from the global stream, capped at about
// WithAuditMaxLen entries). limit <= 0 means DefaultListLimit, capped at
// MaxListLimit.
func (r *Redis) Audit(ctx context.Context, userID string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	key := keyAudit
	if userID != "" {
		key = userAuditKey(userID)
	}
	msgs, err := r.c.XRevRangeN(ctx, key, "+", "-", int64(min(limit, MaxListLimit))).Result()
	if err != nil {
		return nil, wrap("read audit", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, auditFromMessage(m))
	}
	return out, nil
}

func auditFromMessage(m redis.XMessage) AuditEntry {
	str := func(k string) string {
		s, _ := m.Values[k].(string)
		return s
	}
	attempt, _ := strconv.Atoi(str("attempt"))
	deferrals, _ := strconv.Atoi(str("deferrals"))
	return AuditEntry{
		ID:          m.ID,
		Time:        parseMS(str("time")),
		UserID:      str("user_id"),
		Outcome:     str("outcome"),
		WebhookID:   str("webhook_id"),
		JobID:       str("job_id"),
		Attempt:     attempt,
		Error:       str("error"),
		By:          str("by"),
		Detail:      str("detail"),
		DeferReason: str("defer_reason"),
		Deferrals:   deferrals,
	}
}
