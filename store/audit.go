package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	// budget_wait, missing_scope, auth0_unavailable): on a deferred entry, the reason its episode started; on
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
// user's trail, the last 100 a day kept for the retention period), or about
// everyone when userID is "" (from the global stream, capped at about
// WithAuditMaxLen entries). limit <= 0 means DefaultListLimit, capped at
// MaxListLimit.
func (r *Redis) Audit(ctx context.Context, userID string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	if userID != "" {
		trails, err := r.trails(ctx, []string{userID}, limit, r.trailDays())
		if err != nil {
			return nil, err
		}
		return trails[0], nil
	}
	msgs, err := r.c.XRevRangeN(ctx, keyAudit, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, wrap("read audit", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, auditFromMessage(m))
	}
	return out, nil
}

// trails reads the last limit entries of each user's trail, newest first, in
// one round trip: the user's field in the trail hash of each of days (newest
// first), and the per-user stream of the layout before trails, which a
// store upgraded in place still holds (and an older replica may still write
// during a rolling upgrade) until it expires.
func (r *Redis) trails(ctx context.Context, users []string, limit int, days []int64) ([][]AuditEntry, error) {
	pipe := r.c.Pipeline()
	fields := make([][]*redis.StringCmd, len(users))
	streams := make([]*redis.XMessageSliceCmd, len(users))
	for i, u := range users {
		fields[i] = make([]*redis.StringCmd, len(days))
		for j, d := range days {
			fields[i][j] = pipe.HGet(ctx, trailKeyFor(u, d), u)
		}
		streams[i] = pipe.XRevRangeN(ctx, userAuditKey(u), "+", "-", int64(limit))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("read audit", err)
	}
	out := make([][]AuditEntry, len(users))
	for i, u := range users {
		var es []AuditEntry
		for _, c := range fields[i] { // newest day first
			v, err := c.Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return nil, wrap("read audit", err)
			}
			day := strings.Split(v, "\x1e")
			for j := len(day) - 1; j >= 0 && len(es) < limit; j-- {
				es = append(es, trailEntry(u, day[j]))
			}
			if len(es) == limit {
				break
			}
		}
		if msgs, err := streams[i].Result(); err == nil && len(msgs) > 0 {
			for _, m := range msgs {
				es = append(es, auditFromMessage(m))
			}
			slices.SortStableFunc(es, func(a, b AuditEntry) int { return b.Time.Compare(a.Time) })
			es = es[:min(len(es), limit)]
		}
		out[i] = es
	}
	return out, nil
}

// trailEntry decodes one entry of a trail field (see lua/audit.lua): the
// global entry's id, then time, outcome, webhook_id, job_id, attempt, error,
// defer_reason, deferrals, by and detail, separated by \x1f; empty ones at
// the end are left out, times and stream ids are compacted to base 36.
func trailEntry(userID, s string) AuditEntry {
	var f [11]string
	for i, v := range strings.SplitN(s, "\x1f", len(f)) {
		f[i] = v
	}
	attempt, _ := strconv.Atoi(f[5])
	deferrals, _ := strconv.Atoi(f[8])
	t, _ := strconv.ParseInt(f[1], 36, 64)
	e := AuditEntry{
		ID:          trailStreamID(f[0]),
		UserID:      userID,
		Outcome:     f[2],
		WebhookID:   f[3],
		JobID:       trailStreamID(f[4]),
		Attempt:     attempt,
		Error:       f[6],
		DeferReason: f[7],
		Deferrals:   deferrals,
		By:          f[9],
		Detail:      f[10],
	}
	if t > 0 {
		e.Time = time.UnixMilli(t).UTC()
	}
	return e
}

// trailStreamID reads back a stream id as lua/audit.lua compacted it.
func trailStreamID(s string) string {
	if raw, ok := strings.CutPrefix(s, "="); ok || s == "" {
		return raw
	}
	t, seq, _ := strings.Cut(s, "-")
	n, err := strconv.ParseInt(t, 36, 64)
	if err != nil {
		return s
	}
	if seq == "" {
		seq = "0"
	}
	return strconv.FormatInt(n, 10) + "-" + seq
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
