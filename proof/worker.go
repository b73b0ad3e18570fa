package proof

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailproof/mailproof/store"
)

// WorkerConfig is what one replica's worker needs. Zero fields take the defaults of
// DefaultWorkerConfig; NewWorker refuses values that cannot work.
type WorkerConfig struct {
	// Concurrency is how many jobs one replica processes at once (MAILPROOF_WORKERS).
	Concurrency int
	// VisibilityTimeout: a job held this long by a silent worker is taken over
	// (MAILPROOF_VISIBILITY_TIMEOUT).
	VisibilityTimeout time.Duration
	// MaxAttempts counted attempts before a job is dead-lettered (MAILPROOF_MAX_ATTEMPTS).
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff with full jitter between
	// attempts (MAILPROOF_RETRY_BASE, MAILPROOF_RETRY_MAX).
	RetryBase, RetryMax time.Duration
	// Rate is the Management API budget in calls per second, shared by every replica
	// through Redis (MAILPROOF_AUTH0_RATE).
	Rate float64
	// ScopePause is how long the replica takes no job after Auth0 refused a call for want
	// of a Management API scope, before it tries again (scopehold.go); not configurable
	// by the environment.
	ScopePause time.Duration
	// TidyEvery is how often the replica offers to run the tidy pass that deletes records
	// past their retention; one replica an hour runs it (a lease in Redis). Not
	// configurable by the environment.
	TidyEvery time.Duration
	// Check, when set, runs once Redis answers and before any job is taken; an error
	// stops Run. The server refuses a Redis that may evict or forget jobs with it.
	Check func(context.Context) error
	// Now is the clock of due times; time.Now when nil.
	Now func() time.Time
}

// DefaultWorkerConfig is the worker configuration of the README's defaults.
func DefaultWorkerConfig() WorkerConfig {
	return WorkerConfig{
		Concurrency:       4,
		VisibilityTimeout: 60 * time.Second,
		MaxAttempts:       8,
		RetryBase:         time.Second,
		RetryMax:          5 * time.Minute,
		Rate:              2,
		ScopePause:        30 * time.Second,
		TidyEvery:         10 * time.Minute,
	}
}

// withDefaults fills zero fields and reports every value that cannot work.
func (c WorkerConfig) withDefaults() (WorkerConfig, error) {
	d := DefaultWorkerConfig()
	c.Concurrency = cmp.Or(c.Concurrency, d.Concurrency)
	c.VisibilityTimeout = cmp.Or(c.VisibilityTimeout, d.VisibilityTimeout)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, d.MaxAttempts)
	c.RetryBase = cmp.Or(c.RetryBase, d.RetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, d.RetryMax)
	c.Rate = cmp.Or(c.Rate, d.Rate)
	c.ScopePause = cmp.Or(c.ScopePause, d.ScopePause)
	c.TidyEvery = cmp.Or(c.TidyEvery, d.TidyEvery)
	if c.Now == nil {
		c.Now = time.Now
	}
	var errs []error
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("worker concurrency %d: want at least 1", c.Concurrency))
	}
	if c.VisibilityTimeout < time.Second {
		errs = append(errs, fmt.Errorf("visibility timeout %s: want at least 1s", c.VisibilityTimeout))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max attempts %d: want at least 1", c.MaxAttempts))
	}
	if c.RetryBase < 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, fmt.Errorf("retry backoff %s to %s: want 0 <= base <= max", c.RetryBase, c.RetryMax))
	}
	if c.TidyEvery < 0 {
		errs = append(errs, fmt.Errorf("tidy interval %s: want a positive duration", c.TidyEvery))
	}
	if c.ScopePause < 0 {
		errs = append(errs, fmt.Errorf("scope pause %s: want a positive duration", c.ScopePause))
	}
	if !(c.Rate > 0) || c.Rate > 1e6 {
		errs = append(errs, fmt.Errorf("Management API rate %v per second: want a positive number", c.Rate))
	}
	return c, errors.Join(errs...)
}

// Worker runs the job loops of one replica: consumers reading the stream, a reclaimer
// taking over jobs whose worker went silent, and a mover putting due retries back.
type Worker struct {
	cfg      WorkerConfig
	rdb      *store.Redis
	proc     *Processor
	log      *zap.Logger
	now      func() time.Time
	consumer string
	running  atomic.Bool
	metrics  *workerMetrics
	scope    *scopeHold
	// inflight holds the owners (webhook ids) of the jobs this replica is processing, so
	// a second delivery of one of them here (its own reclaim, a retried copy) is left to
	// the attempt already running instead of racing it to the Management API.
	inflight sync.Map
	// busyDelay picks how long a job waits for another event of its user; tests shorten it.
	busyDelay func() time.Duration
}

type workerMetrics struct {
	outcomes *prometheus.CounterVec
	attempts *prometheus.CounterVec
	seconds  prometheus.Histogram
	undos    *prometheus.CounterVec
	// The jobs the reconcile sweep queued: their outcomes and Management API calls.
	sweepJobs  *prometheus.CounterVec
	sweepCalls prometheus.Counter
	// Calls Auth0 refused for want of a Management API scope, by the scope to grant.
	scopeErrors *prometheus.CounterVec
	// Records the tidy pass deleted at their end of life.
	tidied prometheus.Counter
}

// NewWorker builds a replica's worker on rdb and Auth0's users, registering its metrics
// with reg. It refuses a configuration that cannot work.
func NewWorker(cfg WorkerConfig, rdb *store.Redis, users Users, log *zap.Logger, reg prometheus.Registerer) (*Worker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	m := &workerMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_jobs_total",
			Help: "Jobs finished by the worker, by outcome code (verified, already_verified, email_changed, wrong_method, …, dead_letter).",
		}, []string{"outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_job_retries_total",
			Help: "Job attempts that ended in a scheduled retry, by reason: transient (counts as an attempt), or a deferral that does not (rate_limited, user_busy, budget_wait, missing_scope, auth0_unavailable).",
		}, []string{"reason"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mailproof_job_duration_seconds",
			Help:    "Time to process one job attempt, Management API calls and rate-limit waits included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}),
		undos: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_flip_undos_total",
			Help: "Attempts to take back a flip that landed on an address nobody proved (email changed during the flip), by result: done, failed (retried until done).",
		}, []string{"result"}),
	}
	m.sweepJobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproof_reconcile_jobs_total",
		Help: "Jobs the reconcile sweep queued, finished by the worker, by outcome code (verified, no_login_since_reset, changed_since_event, …, dead_letter); they count in mailproof_jobs_total too.",
	}, []string{"outcome"})
	m.sweepCalls = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mailproof_reconcile_job_calls_total",
		Help: "Management API calls (fresh reads, PATCHes, undos) made by attempts at jobs the reconcile sweep queued.",
	})
	m.scopeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproof_auth0_scope_errors_total",
		Help: "Job attempts whose Management API call Auth0 refused (403 insufficient_scope) because the mailproof application lacks a scope, by the scope to grant (one of mailproof's, or other).",
	}, []string{"scope"})
	m.tidied = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mailproof_records_tidied_total",
		Help: "Records deleted by the tidy pass at their end of life: the retention after they were verified or closed, or after they expired unproven.",
	})
	if err := registerAll(reg, m.outcomes, m.attempts, m.seconds, m.undos, m.sweepJobs, m.sweepCalls, m.scopeErrors, m.tidied); err != nil {
		return nil, err
	}
	w := &Worker{
		cfg:      cfg,
		rdb:      rdb,
		log:      log.Named("worker"),
		now:      cfg.Now,
		consumer: host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10),
		metrics:  m,
		scope:    &scopeHold{pause: cfg.ScopePause},

		busyDelay: busyDelay,
	}
	w.proc = &Processor{
		Records: rdb,
		Users:   users,
		Budget:  newQueuedBudget(store.NewLimiter(rdb, cfg.Rate)),
		Undos:   rdb,
		Log:     w.log,
	}
	// The real client knows when Auth0 last answered (auth0client.Client.LastAnswer);
	// fakes in tests may not, and then every transient failure counts as an attempt.
	if a, ok := users.(interface{ LastAnswer() time.Time }); ok {
		w.proc.LastAuth0Answer = a.LastAnswer
	}
	return w, nil
}

// registerAll registers every collector or says which one clashed.
func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register worker metrics: %w", err)
		}
	}
	return nil
}

// Ready is the readiness check: the loops run only once Redis answered and the queue
// exists, so "worker running" also means "jobs can be taken".
func (w *Worker) Ready(context.Context) error {
	if !w.running.Load() {
		return errors.New("worker not running yet: waiting for Redis")
	}
	return nil
}

// Run waits for Redis, checks it is safe to use as a queue (WorkerConfig.Check), then
// runs every loop until ctx ends. Each loop finishes the job it holds before returning.
// A nil error means ctx ended; an error means the worker could not start.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.preflight(ctx, w.cfg.Check); err != nil || ctx.Err() != nil {
		return err
	}
	w.running.Store(true)
	defer w.running.Store(false)
	w.log.Info("worker started", zap.String("consumer", w.consumer), zap.Int("concurrency", w.cfg.Concurrency))
	var wg sync.WaitGroup
	for range w.cfg.Concurrency {
		wg.Go(func() { w.consume(ctx) })
	}
	wg.Go(func() { w.every(ctx, w.cfg.VisibilityTimeout/4, w.reclaim) })
	wg.Go(func() { w.every(ctx, 250*time.Millisecond, w.moveDue) })
	wg.Go(func() { w.every(ctx, w.cfg.TidyEvery, w.tidy) })
	wg.Wait()
	w.log.Info("worker stopped", zap.String("consumer", w.consumer))
	return nil
}

// preflight blocks until Redis answers, so a replica started before its Redis simply
// stays unready instead of crash-looping; a Redis that check refuses (one that evicts
// keys, or forgets them on restart) is refused outright because it would silently drop
// queued jobs.
func (w *Worker) preflight(ctx context.Context, check func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := w.rdb.Ping(ctx)
		if err == nil {
			break
		}
		if attempt%10 == 0 {
			w.log.Warn("waiting for Redis before starting the worker; check MAILPROOF_REDIS_URL", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
	if check != nil {
		if err := check(ctx); err != nil {
			return fmt.Errorf("refusing to start the worker: %w", err)
		}
	}
	if err := w.rdb.EnsureGroup(ctx); err != nil {
		return fmt.Errorf("create the job consumer group: %w", err)
	}
	return nil
}

// consume reads one job at a time; ctx only interrupts the wait for a job, never a job.
// Flips waiting to be taken back go before every job; nothing is taken while a missing
// scope holds the worker (scopehold.go).
func (w *Worker) consume(ctx context.Context) {
	for ctx.Err() == nil {
		w.scope.wait(ctx)
		w.runUndos(ctx)
		jobs, err := w.rdb.Read(ctx, w.consumer, 1, 2*time.Second)
		delivered := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.Warn("cannot read jobs from Redis; retrying in 1s", zap.Error(err))
			sleep(ctx, time.Second)
			continue
		}
		for _, j := range jobs {
			w.handle(ctx, j, delivered)
		}
	}
}

// reclaim takes over jobs whose worker went silent and runs them side by side: each
// reclaimed job's lease starts at the reclaim, so running them one after another would
// let the last ones outlive their lease and be taken over again mid-flight.
func (w *Worker) reclaim(ctx context.Context) {
	if w.scope.holding() {
		return
	}
	jobs, err := w.rdb.Reclaim(ctx, w.consumer, w.cfg.VisibilityTimeout, w.cfg.Concurrency)
	delivered := time.Now()
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("cannot reclaim stuck jobs", zap.Error(err))
		}
		return
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		w.log.Info("took over a job whose worker went silent", zap.String("job_id", j.ID), zap.String("user_id", j.UserID), zap.Int("attempt", j.Attempt), zap.Int("deliveries", j.Deliveries))
		wg.Go(func() { w.handle(ctx, j, delivered) })
	}
	wg.Wait()
}

// runUndos takes back the flips waiting in the undo list (handlers.Processor.RunDueUndos).
func (w *Worker) runUndos(ctx context.Context) {
	rep, err := w.proc.RunDueUndos(ctx)
	w.metrics.undos.WithLabelValues(UndoDone).Add(float64(rep.Done))
	w.metrics.undos.WithLabelValues(UndoFailed).Add(float64(rep.Failed))
	if err != nil && ctx.Err() == nil {
		w.log.Error("cannot read the undo list from Redis; flips to take back wait until it answers", zap.Error(err))
	}
}

// tidyLease is how long the replica that runs the tidy pass keeps the others
// (offering every WorkerConfig.TidyEvery) from running theirs: one pass an hour
// whatever the number of replicas, and a replica that dies mid-pass delays the next
// by an hour at most. Records are kept at least the retention; an hour more is noise.
const tidyLease = time.Hour

// tidy deletes the records whose end of life has passed (store.Redis.TidyRecords):
// a record is a field of a shared hash, which Redis cannot expire on its own.
func (w *Worker) tidy(ctx context.Context) {
	rep, err := w.rdb.TidyRecords(ctx, w.consumer, tidyLease)
	w.metrics.tidied.Add(float64(rep.Deleted))
	switch {
	case err != nil && ctx.Err() == nil:
		w.log.Warn("the tidy pass stopped early; records past their retention stay until the next pass, an hour on (check Redis)", zap.Int("deleted", rep.Deleted), zap.Int("shards_done", rep.Shards), zap.Error(err))
	case rep.Deleted > 0:
		w.log.Info("deleted records past their retention", zap.Int("deleted", rep.Deleted))
	}
}

func (w *Worker) moveDue(ctx context.Context) {
	if _, err := w.rdb.MoveDue(ctx, w.now(), 100); err != nil && ctx.Err() == nil {
		w.log.Warn("cannot move due retries back to the queue", zap.Error(err))
	}
}

// recordTimeout bounds the Redis call that records a job's outcome. It runs on its own
// context because the attempt's may have expired: a timed-out attempt must still be
// recorded as a retry, or the job would sit un-acknowledged until the visibility timeout.
const recordTimeout = 5 * time.Second

// leaseMargin is how long before the visibility timeout an attempt stops calling Auth0,
// so it has given up before another replica can take the job over. Visibility timeouts
// under 5s (tests) give up the last fifth of their lease.
func leaseMargin(visibility time.Duration) time.Duration {
	return min(time.Second, visibility/5)
}

// handle processes one job delivered at delivered and records what happened. The
// attempt runs on a context that shutdown does not cancel, so a SIGTERM lets the
// current job finish; its deadline is the job's lease (delivery plus the visibility
// timeout, less leaseMargin), counted from the delivery rather than from now, so a
// replica that stalled between reading a job and starting it cannot work on it while
// another replica, having reclaimed it, does too.
func (w *Worker) handle(parent context.Context, job store.Job, delivered time.Time) {
	log := w.log.With(zap.String("user_id", job.UserID), zap.String("job_id", job.ID), zap.Int("attempt", job.Attempt))
	if isSweepJob(job) {
		log = log.With(zap.String("source", store.SourceSweep))
	}
	if job.UserID == "" {
		w.dropMalformed(parent, job, log)
		return
	}
	if _, busy := w.inflight.LoadOrStore(job.Owner(), struct{}{}); busy {
		// The attempt in progress finishes (acknowledges) this entry, or it is
		// reclaimed after the visibility timeout: left alone, nothing is lost.
		log.Info("job is already being processed by this replica; leaving it to that attempt")
		return
	}
	defer w.inflight.Delete(job.Owner())
	base := context.WithoutCancel(parent)
	ctx, cancel := context.WithDeadline(base, delivered.Add(w.cfg.VisibilityTimeout-leaseMargin(w.cfg.VisibilityTimeout)))
	defer cancel()
	if ctx.Err() != nil {
		log.Warn("job's lease ran out before it started (this replica stalled); leaving it to whoever reclaims it")
		return
	}
	start := time.Now()
	var d Decision
	if job.Deliveries > w.cfg.MaxAttempts {
		// Workers keep dying or hanging on this job without recording anything (a
		// crash, an OOM kill): retrying it forever would take every replica down in turn.
		// Any of them may have died between a PATCH and its answer.
		d = Decision{Action: DeadLetter, MayHaveFlipped: true, Err: fmt.Errorf("delivered %d times without an outcome: the workers holding it died or hung", job.Deliveries)}
	} else {
		d = w.proc.Process(ctx, job)
	}
	w.metrics.seconds.Observe(time.Since(start).Seconds())
	if d.Defer == DeferMissingScope {
		w.holdForScope(d, log)
	}
	rctx, rcancel := context.WithTimeout(base, recordTimeout)
	defer rcancel()
	if d.Run != "" {
		w.metrics.sweepCalls.Add(float64(d.Calls))
		if err := w.rdb.AddSweepCalls(rctx, d.Run, d.Calls); err != nil {
			log.Warn("could not add this job's calls to its sweep's tally; its summary will count fewer", zap.Error(err))
		}
	}
	var err error
	switch d.Action {
	case Ack:
		if d.Undo != "" {
			w.metrics.undos.WithLabelValues(d.Undo).Inc()
		}
		err = w.rdb.Finish(rctx, job, store.Outcome{Code: d.Outcome, Close: d.Close})
		if err == nil {
			w.metrics.outcomes.WithLabelValues(d.Outcome).Inc()
			if d.Run != "" {
				w.metrics.sweepJobs.WithLabelValues(d.Outcome).Inc()
			}
			if d.Outcome == OutcomeVerified {
				log.Info("email verified", zap.String("outcome", d.Outcome))
			} else {
				log.Info("login did not prove mailbox access; email_verified left unchanged", zap.String("outcome", d.Outcome), zap.Bool("record_closed", d.Close))
			}
		}
	case Retry:
		if d.Defer != "" {
			err = w.deferJob(rctx, job, d, log)
			break
		}
		if job.Attempt >= w.cfg.MaxAttempts {
			err = w.deadLetter(rctx, job, d, log)
			break
		}
		due := w.now().Add(backoff(job.Attempt, w.cfg.RetryBase, w.cfg.RetryMax))
		if d.NotBefore.After(due) {
			due = d.NotBefore
		}
		err = w.rdb.Retry(rctx, job, due, errString(d.Err))
		if err == nil {
			w.metrics.attempts.WithLabelValues(RetryTransient).Inc()
			log.Warn("job will be retried", zap.Time("not_before", due), zap.String("reason", RetryTransient), zap.Error(d.Err))
		}
	case DeadLetter:
		err = w.deadLetter(rctx, job, d, log)
	}
	switch {
	case errors.Is(err, store.ErrReplicas):
		// The master recorded the outcome but too few replicas confirmed it
		// (MAILPROOF_REDIS_MIN_REPLICAS), so it is not safely done: if the master dies
		// before it replicates, the promoted replica still holds the job as delivered and
		// unacknowledged, and a worker reclaims it after the visibility timeout. That
		// re-run cannot flip twice: Process claims the record again (the lock's owner is
		// the webhook id, the same on every run) and reads the user fresh before any
		// PATCH (tryFlip); a flag our earlier PATCH set reads email_verified=true and the
		// job ends without a second PATCH: verified when it resumes its own claim (the
		// claim replicated), already_verified when the record reads pending again. Should
		// the address have changed between the two runs, the same read sees it: a resumed
		// claim takes the flag back (takeBack), exactly as for a worker that died between
		// its PATCH and its Finish. If the outcome did survive, the entry is gone and
		// nothing runs again.
		log.Error("a job's outcome was recorded on the Redis master but not confirmed by enough replicas (MAILPROOF_REDIS_MIN_REPLICAS); if the master fails over before it replicates, the job runs again after the visibility timeout and its fresh read finds the user as this run left it. Check INFO replication on the master",
			zap.String("outcome", d.Outcome), zap.Error(err))
	case err != nil:
		// Not acknowledged: the job stays pending in the stream and is reclaimed after
		// the visibility timeout, so nothing is lost.
		log.Error("could not record a job's outcome in Redis; it will be retried after the visibility timeout", zap.Error(err))
	}
}

// deadLetter gives a job up. When a PATCH of it may have landed unseen, a Check undo is
// left first: a later read decides whether the flag is on an address nobody proved.
func (w *Worker) deadLetter(ctx context.Context, job store.Job, d Decision, log *zap.Logger) error {
	cause := d.Err
	if d.MayHaveFlipped {
		if _, err := w.rdb.ScheduleUndo(ctx, store.Undo{UserID: job.UserID, JobID: job.ID, WebhookID: job.WebhookID, Check: true}, 0); err != nil {
			return err
		}
	}
	if err := w.rdb.DeadLetter(ctx, job, errString(cause)); err != nil {
		return err
	}
	w.metrics.outcomes.WithLabelValues(store.AuditDeadLetter).Inc()
	if isSweepJob(job) {
		w.metrics.sweepJobs.WithLabelValues(store.AuditDeadLetter).Inc()
	}
	log.Error("job moved to the dead-letter stream; inspect it with 'mailproof dlq list' and replay it with 'mailproof dlq replay' once the cause is fixed", zap.Error(cause))
	return nil
}

// backoff is exponential with full jitter: a random delay in [0, min(max, base·2^(n-1))],
// which spreads retries of many jobs that failed together.
func backoff(attempt int, base, max time.Duration) time.Duration {
	ceil := base << min(attempt-1, 30)
	if ceil <= 0 || ceil > max {
		ceil = max
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func (w *Worker) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// queuedBudget lets one goroutine of this replica at a time wait on the shared budget;
// the others queue here, in order, without touching Redis. Every waiter polls Redis when
// a slot comes up and the limiter (no burst) loses whatever time the winner arrives
// late, so a herd of waiters both loads Redis and wastes budget; one waiter per replica
// keeps the slots taken on time.
type queuedBudget struct {
	*store.Limiter
	turn chan struct{}
}

var _ Budget = (*queuedBudget)(nil)

func newQueuedBudget(l *store.Limiter) *queuedBudget {
	return &queuedBudget{Limiter: l, turn: make(chan struct{}, 1)}
}

// Wait waits for this replica's turn, then for the shared budget.
func (b *queuedBudget) Wait(ctx context.Context) error { return b.WaitN(ctx, 1) }

// WaitN waits for this replica's turn, then for n slots of the shared budget together.
func (b *queuedBudget) WaitN(ctx context.Context, n int) error {
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.turn }()
	return b.Limiter.WaitN(ctx, n)
}
