package proof

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/store"
)

// SweepStore is the part of the store the reconcile sweep needs (store.Redis).
type SweepStore interface {
	AcquireSweep(ctx context.Context, owner string, lease time.Duration) (bool, error)
	RenewSweep(ctx context.Context, owner string, lease time.Duration) error
	ReleaseSweep(ctx context.Context, owner string) error
	ReadSweep(ctx context.Context) (store.SweepState, error)
	SaveSweep(ctx context.Context, owner string, s store.SweepState) error
	PendingCount(ctx context.Context) (int64, error)
	OldestPending(ctx context.Context) (time.Time, bool, error)
	GetMany(ctx context.Context, users []string) ([]store.Record, []error)
	Ingest(ctx context.Context, in store.IngestRequest) (store.IngestResult, error)
}

// SweepUsers is the Management API as the sweep needs it (auth0client.Client).
type SweepUsers interface {
	SearchUsers(ctx context.Context, q, sort string, page, perPage int) ([]auth0client.User, int, error)
	ExportUsers(ctx context.Context, connectionID string, fields []string) (string, error)
	ExportJob(ctx context.Context, id string) (status, location string, err error)
	DownloadExport(ctx context.Context, location string) (io.ReadCloser, error)
}

var (
	_ SweepStore = (*store.Redis)(nil)
	_ SweepUsers = (*auth0client.Client)(nil)
)

// SweepBudget is the shared Management API budget as the sweep takes it: after flips
// and provisioning (store.Limiter.WaitLowest).
type SweepBudget interface {
	WaitLowest(ctx context.Context) error
	Pause(ctx context.Context, until time.Time) error
}

var _ SweepBudget = (*store.Limiter)(nil)

// The sweep's two ways of finding candidates.
const (
	PathSearch = "search"
	PathExport = "export"
)

// SweepConfig tunes the reconcile sweep. Zero fields take DefaultSweepConfig's values.
type SweepConfig struct {
	// ExportAbove: with more pending records than this, the sweep reads a user export
	// instead of searching (MAILPROOF_RECONCILE_EXPORT_ABOVE).
	ExportAbove int
	// Overlap is how far each run reaches back before the end of the previous one: it
	// covers the search index's lag, so a login indexed late is still found.
	Overlap time.Duration
	// Lease is how long the sweep lock holds without renewal; it is renewed every third
	// of it. A replica that dies mid-sweep lets another take over once it runs out.
	Lease time.Duration
	// Lookback bounds the first run's range when no record is pending to start from.
	Lookback time.Duration
	// ReplayTTL is how long a queued find is remembered, so overlapping runs queue it once.
	ReplayTTL time.Duration
	// PollMax caps the wait between two reads of an export job.
	PollMax time.Duration
	// RetryWait is the wait before the second try of a failed call; the n-th waits n
	// times as long.
	RetryWait time.Duration
	// Limit stops a run after this many queued jobs (0: no limit); the run stays open
	// and the next one resumes it.
	Limit int
	// DryRun finds and judges candidates and changes nothing: no job, no cursor.
	DryRun bool
}

// DefaultSweepConfig is the sweep configuration of the README's defaults.
func DefaultSweepConfig() SweepConfig {
	return SweepConfig{
		ExportAbove: 20000,
		Overlap:     15 * time.Minute,
		Lease:       30 * time.Second,
		Lookback:    30 * 24 * time.Hour,
		ReplayTTL:   24 * time.Hour,
		PollMax:     30 * time.Second,
		RetryWait:   time.Second,
	}
}

func (c SweepConfig) withDefaults() SweepConfig {
	d := DefaultSweepConfig()
	c.ExportAbove = cmp.Or(c.ExportAbove, d.ExportAbove)
	c.Overlap = cmp.Or(c.Overlap, d.Overlap)
	c.Lease = cmp.Or(c.Lease, d.Lease)
	c.Lookback = cmp.Or(c.Lookback, d.Lookback)
	c.ReplayTTL = cmp.Or(c.ReplayTTL, d.ReplayTTL)
	c.PollMax = cmp.Or(c.PollMax, d.PollMax)
	c.RetryWait = cmp.Or(c.RetryWait, d.RetryWait)
	return c
}

// Sweeper is the reconcile sweep: it finds, on Management API data, logins whose
// webhook never arrived and queues each as a job for the worker, which judges it on
// the same policy table and flips it on the same claim → fresh read → PATCH path as a
// login's. The sweep itself never PATCHes: its finds may lag behind Auth0, the fresh
// read cannot.
type Sweeper struct {
	Store  SweepStore
	Users  SweepUsers
	Budget SweepBudget // the shared Management API budget, at the lowest priority
	Log    *zap.Logger
	Config SweepConfig
	// Metrics, when set, counts runs, finds and calls.
	Metrics *SweepMetrics
	// Progress, when set, hears how a run is getting on (the CLI's progress bar).
	Progress func(SweepProgress)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// SweepProgress is a run's progress so far.
type SweepProgress struct {
	Path           string
	From, To, Pos  time.Time // the search path's range and how far it got
	Lines          int64     // the export path's lines read
	Found, Checked int
	Queued         int
}

// SweepReport is what one run did.
type SweepReport struct {
	Run, Path string
	From, To  time.Time
	// Resumed: the run carried on where an earlier, interrupted one stopped.
	Resumed bool
	DryRun  bool
	// Complete: the run got to the end of its range (false when Limit stopped it).
	Complete bool
	// Found counts the users the search or export returned with mailproof's marker;
	// Checked, those of them with a record in Redis.
	Found, Checked int
	// Queued lists the jobs this run queued, for the summary to follow.
	Queued []store.QueuedJob
	// Results counts the finds by what the sweep did with them: queued, already_queued
	// (an earlier run queued the same find), not_pending, expired, and the waiting
	// reasons the find showed (no_password_reset, no_login_since_reset), which need no
	// job. A dry run counts would_check (a fresh read, then perhaps a flip) and the
	// closing outcome a job would record instead of queued.
	Results map[string]int
	// Calls counts the run's own Management API calls by kind (search, export,
	// export_poll); the jobs' calls are counted by the worker.
	Calls    map[string]int
	Duration time.Duration
}

// CallsTotal is the number of Management API calls the run made itself.
func (r SweepReport) CallsTotal() int {
	n := 0
	for _, c := range r.Calls {
		n += c
	}
	return n
}

// ErrSweepBusy: another replica holds the sweep lock.
var ErrSweepBusy = errors.New("another replica is sweeping")

// Sweep results for finds that need no job, beside the outcome codes.
const (
	SweepQueued        = "queued"
	SweepAlreadyQueued = "already_queued"
	SweepExpired       = "expired"
	SweepWouldCheck    = "would_check"
)

// sweepBatch is how many users the sweep judges per Redis round trip.
const sweepBatch = 100

// Sweep runs one sweep: it takes the lock (ErrSweepBusy if another replica has it),
// resumes an interrupted run or starts one, and queues every login it finds that may
// prove mailbox access. A dry run takes no lock and writes nothing.
func (s *Sweeper) Sweep(ctx context.Context) (SweepReport, error) {
	cfg := s.Config.withDefaults()
	start := s.now()
	owner := sweepOwner()
	if !cfg.DryRun {
		ok, err := s.Store.AcquireSweep(ctx, owner, cfg.Lease)
		if err != nil {
			return SweepReport{}, fmt.Errorf("take the sweep lock: %w", err)
		}
		if !ok {
			s.Metrics.run("", "busy", 0)
			return SweepReport{}, ErrSweepBusy
		}
		var stop func() error
		ctx, stop = s.holdLease(ctx, owner, cfg.Lease)
		defer func() {
			if err := stop(); err != nil {
				s.Log.Warn("could not release the sweep lock; it expires on its own", zap.Error(err))
			}
		}()
	}
	r := &sweepRun{s: s, cfg: cfg, owner: owner, rep: SweepReport{DryRun: cfg.DryRun, Results: map[string]int{}, Calls: map[string]int{}}}
	err := r.run(ctx)
	r.rep.Duration = s.now().Sub(start)
	result := "ok"
	if err != nil {
		result = "failed"
		if ctxErr := context.Cause(ctx); ctxErr != nil && errors.Is(ctxErr, store.ErrSweepLost) {
			err = fmt.Errorf("%w (%w)", store.ErrSweepLost, err)
		}
	}
	if !cfg.DryRun {
		s.Metrics.run(r.rep.Path, result, r.rep.Duration)
		s.Metrics.report(r.rep)
	}
	return r.rep, err
}

// holdLease renews the lock until stop; losing it cancels ctx with store.ErrSweepLost,
// so a replica whose lease ran out stops working. A renewal that fails for another
// reason (Redis slow or down) is retried at the next tick, and the run is cancelled as
// soon as the lease could run out before the tick after: each renewal call gets a third
// of the lease, so the cancel comes before another replica could take the lock.
func (s *Sweeper) holdLease(ctx context.Context, owner string, lease time.Duration) (context.Context, func() error) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	exited := make(chan struct{})
	tick := lease / 3
	go func() {
		defer close(exited)
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, tick)
			err := s.Store.RenewSweep(rctx, owner, lease)
			rcancel()
			switch {
			case err == nil:
				last = time.Now()
			case errors.Is(err, store.ErrSweepLost) || time.Since(last)+tick >= lease:
				select {
				case <-done: // the run ended meanwhile: nothing to stop
					return
				default:
				}
				s.Log.Error("lost the sweep lock; stopping this sweep, another replica resumes it from the cursor", zap.Error(err))
				cancel(store.ErrSweepLost)
				return
			default:
				s.Log.Warn("could not renew the sweep lock; retrying", zap.Error(err))
			}
		}
	}()
	return ctx, func() error {
		close(done)
		<-exited
		lost := errors.Is(context.Cause(ctx), store.ErrSweepLost)
		cancel(nil)
		if lost {
			return nil
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		return s.Store.ReleaseSweep(rctx, owner)
	}
}

func (s *Sweeper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func sweepOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// sweepRun is one run's working state.
type sweepRun struct {
	s     *Sweeper
	cfg   SweepConfig
	owner string
	st    store.SweepState
	rep   SweepReport
}

// run plans the run (resuming an open one), walks its path and closes it.
func (r *sweepRun) run(ctx context.Context) error {
	st, err := r.s.Store.ReadSweep(ctx)
	if err != nil {
		return err
	}
	if st.Run != "" {
		r.rep.Resumed = true
		r.s.Log.Info("resuming the sweep an earlier replica did not finish", zap.String("run", st.Run), zap.String("path", st.Path))
	} else if st, err = r.plan(ctx, st); err != nil {
		return err
	}
	r.st = st
	r.rep.Run, r.rep.Path, r.rep.From, r.rep.To = st.Run, st.Path, st.From, st.To
	if err := r.save(ctx); err != nil {
		return err
	}
	var complete bool
	if st.Path == PathExport {
		complete, err = r.export(ctx)
	} else {
		complete, err = r.search(ctx)
	}
	if err != nil || !complete {
		return err
	}
	r.rep.Complete = true
	r.st = store.SweepState{LastRun: r.st.Run, LastPath: r.st.Path, LastSuccess: r.s.now(), LastTo: r.st.To}
	return r.save(ctx)
}

// plan starts a run: its path by the number of pending records, its range from the end
// of the last run (less the overlap) to now; the first run reaches back to the oldest
// pending record.
func (r *sweepRun) plan(ctx context.Context, last store.SweepState) (store.SweepState, error) {
	now := r.s.now().UTC().Truncate(time.Millisecond)
	st := last
	st.Run = now.Format("20060102T150405Z") + "-" + r.owner[len(r.owner)-6:]
	st.StartedAt, st.To, st.ExportJob, st.Line = now, now, "", 0
	if !last.LastTo.IsZero() {
		st.From = last.LastTo.Add(-r.cfg.Overlap)
	} else {
		oldest, ok, err := r.s.Store.OldestPending(ctx)
		if err != nil {
			return st, err
		}
		st.From = now.Add(-r.cfg.Lookback)
		if ok && oldest.Before(now) {
			st.From = oldest.Add(-r.cfg.Overlap)
		}
	}
	st.Pos = st.From
	n, err := r.s.Store.PendingCount(ctx)
	if err != nil {
		return st, err
	}
	st.Path = PathSearch
	if n > int64(r.cfg.ExportAbove) {
		st.Path = PathExport
	}
	return st, nil
}

// save writes the cursor; a dry run keeps it in memory only.
func (r *sweepRun) save(ctx context.Context) error {
	if r.cfg.DryRun {
		return nil
	}
	if err := r.s.Store.SaveSweep(ctx, r.owner, r.st); err != nil {
		return fmt.Errorf("save the sweep cursor: %w", err)
	}
	return nil
}

func (r *sweepRun) progress() {
	if r.s.Progress == nil {
		return
	}
	r.s.Progress(SweepProgress{
		Path: r.st.Path, From: r.st.From, To: r.st.To, Pos: r.st.Pos, Lines: r.st.Line,
		Found: r.rep.Found, Checked: r.rep.Checked, Queued: len(r.rep.Queued),
	})
}

// limited reports whether Limit has stopped the run.
func (r *sweepRun) limited() bool {
	if r.cfg.Limit <= 0 {
		return false
	}
	n := len(r.rep.Queued)
	if r.cfg.DryRun {
		n = r.rep.Results[SweepWouldCheck]
	}
	return n >= r.cfg.Limit
}

// consider judges a batch of users the search or export returned and queues a job for
// each that may prove, or has disproved, mailbox access. Users without the marker or a
// record cost nothing but a Redis read: this is where the sweep's cost stops growing
// with the number of pending users.
func (r *sweepRun) consider(ctx context.Context, users []auth0client.User) error {
	marked := users[:0:0]
	for _, u := range users {
		if u.Provisioned {
			marked = append(marked, u)
		}
	}
	r.rep.Found += len(marked)
	if len(marked) == 0 {
		return nil
	}
	ids := make([]string, len(marked))
	for i, u := range marked {
		ids[i] = u.ID
	}
	recs, errs := r.s.Store.GetMany(ctx, ids)
	for i, u := range marked {
		rec, err := recs[i], errs[i]
		switch {
		case errors.Is(err, store.ErrNotFound):
			r.rep.Results[OutcomeNotPending]++
			continue
		case err != nil:
			return err
		case rec.Status == store.StatusExpired:
			r.rep.Checked++
			r.rep.Results[SweepExpired]++
			continue
		case rec.Status != store.StatusPending && rec.Status != store.StatusVerifying:
			r.rep.Results[OutcomeNotPending]++
			continue
		}
		r.rep.Checked++
		rule := EvaluateSweep(u, rec)
		if rule != nil && !rule.Terminal {
			// Nothing to do until the person logs in (again): the next run will see it.
			r.rep.Results[rule.Outcome]++
			continue
		}
		if r.limited() {
			return nil
		}
		if r.cfg.DryRun {
			if rule != nil {
				r.rep.Results[rule.Outcome]++
			} else {
				r.rep.Results[SweepWouldCheck]++
			}
			continue
		}
		if err := r.queue(ctx, newSweepFind(r.st.Run, r.st.Path, u)); err != nil {
			return err
		}
	}
	return nil
}

// queue takes one find in like a login (store.Ingest): the replay guard under the
// find's id queues it once however many runs or replicas find it, and the record
// check queues it only while the user is pending.
func (r *sweepRun) queue(ctx context.Context, f sweepFind) error {
	body, err := f.payload()
	if err != nil {
		return err
	}
	id := f.webhookID()
	res, err := r.s.Store.Ingest(ctx, store.IngestRequest{WebhookID: id, UserID: f.UserID, ReplayTTL: r.cfg.ReplayTTL, Payload: body})
	if err != nil {
		return fmt.Errorf("queue the sweep's find for %s: %w", f.UserID, err)
	}
	switch res.Status {
	case store.IngestQueued:
		r.rep.Results[SweepQueued]++
		r.rep.Queued = append(r.rep.Queued, store.QueuedJob{UserID: f.UserID, WebhookID: id})
	case store.IngestDuplicate:
		r.rep.Results[SweepAlreadyQueued]++
	default:
		r.rep.Results[OutcomeNotPending]++
	}
	return nil
}

// call makes one of the run's own Management API calls: at low priority on the shared
// budget, counted, and tried again (up to five times, pausing the budget on a 429)
// before the run gives up and leaves its cursor for the next one.
func (r *sweepRun) call(ctx context.Context, kind string, f func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if werr := r.s.Budget.WaitLowest(ctx); werr != nil {
			return fmt.Errorf("wait for the Management API budget: %w", werr)
		}
		r.rep.Calls[kind]++
		err = f()
		var rl *auth0client.RateLimitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &rl):
			if perr := r.s.Budget.Pause(ctx, rl.Reset); perr != nil {
				r.s.Log.Warn("could not share the rate-limit pause with other replicas", zap.Error(perr))
			}
		case !errors.Is(err, auth0client.ErrTransient) || attempt >= 5:
			return err
		default:
			wait := time.Duration(attempt) * r.cfg.RetryWait
			r.s.Log.Warn("sweep call failed; retrying", zap.String("call", kind), zap.Duration("in", wait), zap.Error(err))
			if serr := sleepCtx(ctx, wait); serr != nil {
				return err
			}
		}
		if attempt >= 5 {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RunSweeps runs the sweep every interval until ctx ends, on every replica: each looks
// at least once a minute whether a run is due (the last success is interval old) or
// was left open by a replica that died, and the lock lets one of them run it.
func (s *Sweeper) RunSweeps(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	tick := min(interval, time.Minute)
	s.Metrics.interval(interval)
	for {
		st, err := s.Store.ReadSweep(ctx)
		if err == nil {
			s.Metrics.lastSuccess(st.LastSuccess)
			if st.Run != "" || s.now().Sub(st.LastSuccess) >= interval {
				s.sweepOnce(ctx)
			}
		} else if ctx.Err() == nil {
			s.Log.Warn("cannot read the sweep state from Redis; trying again", zap.Error(err))
		}
		if sleepCtx(ctx, tick) != nil {
			return
		}
	}
}

func (s *Sweeper) sweepOnce(ctx context.Context) {
	rep, err := s.Sweep(ctx)
	switch {
	case errors.Is(err, ErrSweepBusy):
		return
	case err != nil && ctx.Err() != nil:
		s.Log.Info("sweep interrupted by shutdown; another replica or the next start resumes it from the cursor", zap.String("run", rep.Run))
	case err != nil:
		s.Log.Error("reconcile sweep failed; the next one resumes from its cursor. Check the Management API and Redis (mailproof_reconcile_runs_total)",
			zap.String("run", rep.Run), zap.String("path", rep.Path), zap.Error(err))
	default:
		s.Metrics.lastSuccess(s.now())
		s.Log.Info("reconcile sweep done", zap.String("run", rep.Run), zap.String("path", rep.Path),
			zap.Int("found", rep.Found), zap.Int("checked", rep.Checked), zap.Int("queued", len(rep.Queued)),
			zap.Int("calls", rep.CallsTotal()), zap.Duration("took", rep.Duration))
	}
}
