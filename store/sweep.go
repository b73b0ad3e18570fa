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

// SourceReconcile starts the webhook id of every job the reconcile sweep queues, so the
// audit trail and the worker can tell them from logins the Action reported.
const SourceReconcile = "reconcile:"

// Sources of an audit entry, as AuditEntry.Source names them.
const (
	SourceWebhook  = "webhook"   // a post-login event the Action sent
	SourceSweep    = "reconcile" // a login the reconcile sweep found in Auth0
	SourceOperator = "operator"  // a person through the CLI or the admin API
)

// Source says where the decision came from: the webhook, the reconcile sweep, or an
// operator (entries without a webhook id).
func (e AuditEntry) Source() string {
	switch {
	case strings.HasPrefix(e.WebhookID, SourceReconcile):
		return SourceSweep
	case e.WebhookID != "":
		return SourceWebhook
	}
	return SourceOperator
}

// SweepState is the reconcile sweep's cursor and history, shared by every replica.
// A run in progress has Run set; it is cleared when the run completes, which also sets
// the Last fields.
type SweepState struct {
	// Run identifies the run in progress ("" when none); Path is "search" or "export".
	Run, Path string
	// StartedAt is when the run began; From and To bound the logins it looks for; Pos is
	// how far (in that range) the search path has got, or, on the export path, Line is
	// how many lines of ExportJob's file are done.
	StartedAt, From, To, Pos time.Time
	ExportJob                string
	Line                     int64
	// LastRun and LastPath name the last run that completed, LastSuccess when it did and
	// LastTo the end of the range it covered: the next run starts there, less an overlap.
	LastRun, LastPath   string
	LastSuccess, LastTo time.Time
}

// fields is the state as hash fields; an empty value removes the field.
func (s SweepState) fields() []any {
	msOrEmpty := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return ms(t)
	}
	line := ""
	if s.Line > 0 {
		line = strconv.FormatInt(s.Line, 10)
	}
	return []any{
		"run", s.Run, "path", s.Path, "started_at", msOrEmpty(s.StartedAt),
		"from", msOrEmpty(s.From), "to", msOrEmpty(s.To), "pos", msOrEmpty(s.Pos),
		"export_job", s.ExportJob, "line", line,
		"last_run", s.LastRun, "last_path", s.LastPath,
		"last_success", msOrEmpty(s.LastSuccess), "last_to", msOrEmpty(s.LastTo),
	}
}

// ReadSweep returns the sweep's state; a tenant never swept reads as the zero state.
func (r *Redis) ReadSweep(ctx context.Context) (SweepState, error) {
	h, err := r.c.HGetAll(ctx, keySweep).Result()
	if err != nil {
		return SweepState{}, wrap("read sweep state", err)
	}
	line, _ := strconv.ParseInt(h["line"], 10, 64)
	return SweepState{
		Run: h["run"], Path: h["path"], StartedAt: parseMS(h["started_at"]),
		From: parseMS(h["from"]), To: parseMS(h["to"]), Pos: parseMS(h["pos"]),
		ExportJob: h["export_job"], Line: line,
		LastRun: h["last_run"], LastPath: h["last_path"],
		LastSuccess: parseMS(h["last_success"]), LastTo: parseMS(h["last_to"]),
	}, nil
}

// ErrSweepLost is SaveSweep's and RenewSweep's answer to an owner that no longer holds
// the sweep lock: its lease ran out and another replica may be sweeping.
var ErrSweepLost = errors.New("the sweep lock is held by another replica (this one's lease ran out)")

// AcquireSweep takes the sweep lock for owner for lease, or extends it if owner holds
// it already. It reports false when another replica holds it.
func (r *Redis) AcquireSweep(ctx context.Context, owner string, lease time.Duration) (bool, error) {
	n, err := r.sweepOp(ctx, "acquire", owner, lease)
	return n == 1, err
}

// RenewSweep extends owner's lease; ErrSweepLost when owner no longer holds the lock.
func (r *Redis) RenewSweep(ctx context.Context, owner string, lease time.Duration) error {
	n, err := r.sweepOp(ctx, "renew", owner, lease)
	if err == nil && n != 1 {
		err = ErrSweepLost
	}
	return err
}

// ReleaseSweep gives the lock up if owner holds it; another replica may sweep at once.
func (r *Redis) ReleaseSweep(ctx context.Context, owner string) error {
	_, err := r.sweepOp(ctx, "release", owner, 0)
	return err
}

// SaveSweep writes the sweep's state, only while owner holds the lock (else
// ErrSweepLost): a replica whose lease ran out cannot move the cursor under the one
// that took over.
func (r *Redis) SaveSweep(ctx context.Context, owner string, s SweepState) error {
	n, err := r.sweepOp(ctx, "save", owner, 0, s.fields()...)
	if err == nil && n != 1 {
		err = ErrSweepLost
	}
	return err
}

func (r *Redis) sweepOp(ctx context.Context, op, owner string, lease time.Duration, fields ...any) (int, error) {
	if owner == "" {
		return 0, errors.New("sweep: empty owner")
	}
	args := append([]any{op, owner, durMS(lease)}, fields...)
	n, err := r.scripts.sweep.Run(ctx, r.c, []string{keySweepLock, keySweep}, args...).Int()
	if err != nil {
		return 0, wrap("sweep "+op, err)
	}
	return n, nil
}

// PendingCount is how many records wait for proof (expired ones not yet listed
// included): what decides between the sweep's search and export paths.
func (r *Redis) PendingCount(ctx context.Context) (int64, error) {
	pipe := r.c.Pipeline()
	counts := pendingCounts(ctx, pipe)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, wrap("count pending records", err)
	}
	return sumCounts(counts), nil
}

// pendingCounts queues a ZCARD of every pending index shard (and the index of the
// layout before) on pipe: one round trip for all of them.
func pendingCounts(ctx context.Context, pipe redis.Pipeliner) []*redis.IntCmd {
	keys := pendingIndexKeys()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.ZCard(ctx, k)
	}
	return cmds
}

func sumCounts(cmds []*redis.IntCmd) int64 {
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n
}

// OldestPending is the provisioning time of the oldest record waiting for proof, and
// false when there is none.
func (r *Redis) OldestPending(ctx context.Context) (time.Time, bool, error) {
	keys := pendingIndexKeys()
	cmds := make([]*redis.ZSliceCmd, len(keys))
	if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.ZRangeWithScores(ctx, k, 0, 0)
		}
		return nil
	}); err != nil {
		return time.Time{}, false, wrap("oldest pending record", err)
	}
	var oldest *redis.Z
	for _, c := range cmds {
		if zs := c.Val(); len(zs) > 0 && (oldest == nil || zs[0].Score < oldest.Score) {
			oldest = &zs[0]
		}
	}
	if oldest == nil {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(int64(oldest.Score)).UTC(), true, nil
}

// GetMany reads the records of users in one round trip. A user without a record has
// ErrNotFound in its place in errs.
func (r *Redis) GetMany(ctx context.Context, users []string) ([]Record, []error) {
	recs, errs := make([]Record, len(users)), make([]error, len(users))
	packed := make([]*redis.StringCmd, len(users))
	old := make([]*redis.MapStringStringCmd, len(users))
	// Each user's field and the hash of the layouts before: a record is in
	// one of them (lua/record.lua), and the field wins should both be seen.
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range users {
			packed[i] = p.HGet(ctx, recordShardKey(u), u)
			old[i] = p.HGetAll(ctx, oldRecordKey(u))
		}
		return nil
	})
	for i := range users {
		v, perr := packed[i].Result()
		h, oerr := old[i].Result()
		if errors.Is(perr, redis.Nil) {
			perr = nil
		}
		switch {
		case perr != nil || oerr != nil || (err != nil && !errors.Is(err, redis.Nil)):
			errs[i] = wrap("get record", errors.Join(perr, oerr, err))
		case v != "":
			recs[i] = r.recordFromPacked(users[i], v)
		case len(h) == 0:
			errs[i] = fmt.Errorf("get record: %w", ErrNotFound)
		default:
			recs[i] = r.recordFromHash(users[i], h)
		}
	}
	return recs, errs
}

// QueuedJob names one job the sweep queued: its user and its webhook id.
type QueuedJob struct{ UserID, WebhookID string }

// JobOutcomes looks up, in each user's audit trail, the final entry of each job: the
// outcome it was acknowledged with, or dead_letter. A job still waiting or retrying
// has no entry in the answer. One round trip for all of them.
func (r *Redis) JobOutcomes(ctx context.Context, jobs []QueuedJob) (map[QueuedJob]AuditEntry, error) {
	users := make([]string, len(jobs))
	for i, j := range jobs {
		users[i] = j.UserID
	}
	// The sweep asks about jobs it queued in this run, polling while it waits:
	// their outcomes are in the trails of the last few days, and reading only
	// those keeps a poll of thousands of jobs to a few reads each.
	days := r.trailDays()
	trails, err := r.trails(ctx, users, 20, days[:min(len(days), jobOutcomeDays)])
	if err != nil {
		return nil, fmt.Errorf("read job outcomes: %w", err)
	}
	out := make(map[QueuedJob]AuditEntry, len(jobs))
	for i, j := range jobs {
		for _, e := range trails[i] {
			if e.WebhookID == j.WebhookID && final(e.Outcome) {
				out[j] = e
				break
			}
		}
	}
	return out, nil
}

// jobOutcomeDays is how many days of trails JobOutcomes reads: a sweep run and
// its wait take hours, not days.
const jobOutcomeDays = 3

// final reports whether an audit outcome ends a job (as opposed to a retry, a deferral
// or a replay that puts it back).
func final(outcome string) bool {
	return !slices.Contains([]string{AuditRetry, AuditDeferred, AuditReplayed}, outcome)
}

// AddSweepCalls adds the Management API calls a reconcile job made to its run's tally,
// which the sweep's summary reads with SweepCalls. It is a count for people, kept a
// day: an attempt that died after its calls and before this adds nothing.
func (r *Redis) AddSweepCalls(ctx context.Context, run string, calls int) error {
	if run == "" || calls <= 0 {
		return nil
	}
	key := sweepRunKey(run)
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.IncrBy(ctx, key, int64(calls))
		p.Expire(ctx, key, 24*time.Hour)
		return nil
	})
	if err != nil {
		return wrap("count sweep calls", err)
	}
	return nil
}

// SweepCalls is the tally AddSweepCalls kept for run.
func (r *Redis) SweepCalls(ctx context.Context, run string) (int, error) {
	n, err := r.c.Get(ctx, sweepRunKey(run)).Int()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err != nil:
		return 0, wrap("read sweep calls", err)
	}
	return n, nil
}
