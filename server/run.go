package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/webhook"
)

// Run serves mailproof until ctx ends: it connects to Redis and Auth0, binds both
// listeners, starts the worker once Redis answers, and on cancellation drains everything
// within the configured grace period. A nil error means a clean shutdown.
func Run(ctx context.Context, o Options) error {
	cfg, log := o.Config, o.Log
	if o.Now == nil {
		o.Now = time.Now
	}
	reg := o.Registry
	// go-redis has one process-wide logger; this is the only place that sets it.
	redis.SetLogger(redisLogger{log.Named("go-redis")})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	verifier, err := newVerifier(cfg, o.Now)
	if err != nil {
		return fmt.Errorf("webhook secrets: %w", err)
	}
	waitFailures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproof_redis_replica_wait_failures_total",
		Help: "Writes the Redis master applied but fewer than MAILPROOF_REDIS_MIN_REPLICAS replicas confirmed within MAILPROOF_REDIS_TIMEOUT, by write (ingest: answered 503; finish, retry, defer, dead_letter, ...: the job runs again).",
	}, []string{"write"})
	reg.MustRegister(waitFailures)
	rdb, err := store.Open(ctx, cfg.RedisURL, store.WithPendingTTL(cfg.PendingTTL),
		store.WithMinReplicas(cfg.RedisMinReplicas, cfg.RedisTimeout),
		store.WithRecordLayout(cfg.RecordLayout),
		store.WithBlockingReaders(cfg.Workers),
		store.WithReplicaWaitFailures(func(write string) { waitFailures.WithLabelValues(write).Inc() }))
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer rdb.Close()
	logLayout(ctx, rdb, cfg, log)
	reg.MustRegister(newBacklogCollector(rdb, cfg.RedisTimeout))
	a0, err := auth0client.New(ctx, cfg.Auth0Client())
	if err != nil {
		return fmt.Errorf("auth0 client: %w", err)
	}

	ingester := store.NewIngester(rdb, 64)
	defer ingester.Close()
	metrics := handlers.NewMetrics(reg, verifier.KeyIDs())
	httpM := newHTTPMetrics(reg)
	mainE := newMainEcho(cfg, log, httpM)
	opsE := newEcho("ops", 64<<10, log, httpM)

	redisOK := newRedisCheck(cfg, rdb, o.EmbeddedRedis, log)
	w, err := proof.NewWorker(WorkerConfig(cfg, redisOK.run, o.Now), rdb, a0, log, reg)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	sweeper, err := NewSweeper(cfg, rdb, a0, log, reg)
	if err != nil {
		return fmt.Errorf("reconcile sweep: %w", err)
	}
	sweeper.Now = o.Now
	routes(mainE, opsE, routeDeps{
		cfg:         cfg,
		verifier:    verifier,
		ingester:    ingester,
		metrics:     metrics,
		log:         log,
		reg:         reg,
		status:      rdb,
		pending:     rdb,
		users:       a0,
		budget:      store.NewLimiter(rdb, cfg.Auth0Rate),
		provisioner: NewProvisioner(cfg, rdb, a0, log),
		answers:     rdb,
		checks: []handlers.Check{
			{Name: "redis", Probe: func(ctx context.Context) error {
				if err := rdb.Ping(ctx); err != nil {
					return errors.New("redis does not answer PING; check MAILPROOF_REDIS_URL and the Redis server")
				}
				return nil
			}},
			{Name: "redis_durability", Probe: redisOK.probe},
			{Name: "redis_replicas", Probe: replicasCheck(rdb)},
			{Name: "worker", Probe: w.Ready},
			{Name: "auth0", Probe: auth0Check(a0, w.MissingScope)},
		},
	})

	mainLn, opsLn, err := listeners(cfg)
	if err != nil {
		return err
	}
	addrs := Addrs{Main: mainLn.Addr().String(), Ops: opsLn.Addr().String(), TLS: cfg.TLSCertFile != ""}
	log.Info("listening", zap.String("main", addrs.Main), zap.String("ops", addrs.Ops), zap.Bool("tls", addrs.TLS))
	if o.OnListen != nil {
		o.OnListen(addrs)
	}

	// The worker and the sweep run on a context of their own: shutdown stops them only
	// once the main listener has drained, so events accepted during the drain are still
	// worked on. A worker that cannot start (an evicting or forgetful Redis) ends the
	// process through the group: running without one would accept events and never act
	// on them. A sweep cut short leaves its cursor for the next run, on any replica.
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	workerDone, sweepDone := make(chan struct{}), make(chan struct{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(workerDone)
		return w.Run(loopCtx)
	})
	g.Go(func() error {
		defer close(sweepDone)
		sweeper.RunSweeps(loopCtx, cfg.ReconcileInterval)
		return nil
	})
	g.Go(func() error {
		defer stopLoops()
		return serveAll(gctx, cfg, log, mainE, opsE, mainLn, opsLn, func(grace context.Context) error {
			stopLoops()
			for _, loop := range []struct {
				done <-chan struct{}
				late string
			}{
				{workerDone, "worker did not stop within MAILPROOF_SHUTDOWN_GRACE; its jobs will be reclaimed by another replica"},
				{sweepDone, "reconcile sweep did not stop within MAILPROOF_SHUTDOWN_GRACE; its lock expires on its own and the next run resumes from the cursor"},
			} {
				select {
				case <-loop.done:
				case <-grace.Done():
					return errors.New(loop.late)
				}
			}
			return nil
		})
	})
	return g.Wait()
}

// NewSweeper is the reconcile sweep on the shared Management API budget, at low priority
// like provisioning, registering its metrics with reg.
func NewSweeper(cfg Config, rdb *store.Redis, a0 *auth0client.Client, log *zap.Logger, reg prometheus.Registerer) (*proof.Sweeper, error) {
	m, err := proof.NewSweepMetrics(reg)
	if err != nil {
		return nil, err
	}
	sc := proof.DefaultSweepConfig()
	sc.ExportAbove = cfg.ReconcileExportAbove
	return &proof.Sweeper{
		Store:   rdb,
		Users:   a0,
		Budget:  store.NewLimiter(rdb, cfg.Auth0Rate),
		Log:     log.Named("reconcile"),
		Config:  sc,
		Metrics: m,
	}, nil
}

// NewProvisioner is provisioning on the shared budgets: the Management API's, taken
// after the worker's flips, and the Authentication API's for reset emails. The CLI's
// provision command builds the same.
func NewProvisioner(cfg Config, rdb *store.Redis, a0 *auth0client.Client, log *zap.Logger) *proof.Provisioner {
	return &proof.Provisioner{
		Users:      a0,
		Store:      rdb,
		Budget:     store.NewLimiter(rdb, cfg.Auth0Rate),
		AuthBudget: store.NewAuthLimiter(rdb, cfg.Auth0AuthRate, 10),
		Log:        log.Named("provision"),
	}
}

// WorkerConfig is the worker part of the configuration; serve and the CLI's reconcile
// command, which runs a worker while it waits for its jobs, build theirs with it.
func WorkerConfig(cfg Config, check func(context.Context) error, now func() time.Time) proof.WorkerConfig {
	return proof.WorkerConfig{
		Concurrency:       cfg.Workers,
		VisibilityTimeout: cfg.VisibilityTimeout,
		MaxAttempts:       cfg.MaxAttempts,
		RetryBase:         cfg.RetryBase,
		RetryMax:          cfg.RetryMax,
		Rate:              cfg.Auth0Rate,
		Check:             check,
		Now:               now,
	}
}

// routeDeps is what routes needs to build every handler.
type routeDeps struct {
	cfg      Config
	verifier *webhook.Verifier
	ingester handlers.Ingester
	metrics  *handlers.Metrics
	log      *zap.Logger
	reg      *prometheus.Registry
	checks   []handlers.Check
	status   handlers.StatusSource // counts and recent decisions for the ops status page
	// The admin API's pending routes. budget is the same Redis-held Management API budget
	// the worker spends, so a registration's read and marker and the worker's calls share one rate.
	pending handlers.PendingStore
	users   handlers.RegisterUsers
	budget  handlers.Budget
	// Provisioning for POST /v1/users, with the answers kept under Idempotency-Keys.
	provisioner handlers.Provisioner
	answers     handlers.Answers
}

var (
	_ handlers.Ingester      = (*store.Ingester)(nil)
	_ handlers.PendingStore  = (*store.Redis)(nil)
	_ handlers.StatusSource  = (*store.Redis)(nil)
	_ handlers.RegisterUsers = (*auth0client.Client)(nil)
	_ handlers.Budget        = (*store.Limiter)(nil)
	_ handlers.Provisioner   = (*proof.Provisioner)(nil)
	_ handlers.Answers       = (*store.Redis)(nil)
	_ proof.ProvisionUsers   = (*auth0client.Client)(nil)
	_ proof.ProvisionStore   = (*store.Redis)(nil)
)

// newVerifier is the signature check as the configuration asks for it. The server tests
// build their stack through it and newMainEcho, so a setting Run ignored fails a test.
func newVerifier(cfg Config, now func() time.Time) (*webhook.Verifier, error) {
	return webhook.NewVerifier(cfg.WebhookSecrets, cfg.Tolerance, now)
}

// logLayout says at start which layout records are written in, and, when it is the
// hash layout of the release before, what to do once no replica of that release is
// left. Redis may not answer yet: the store decides at its first write then, silently.
func logLayout(ctx context.Context, rdb *store.Redis, cfg Config, log *zap.Logger) {
	lctx, cancel := context.WithTimeout(ctx, cfg.RedisTimeout)
	defer cancel()
	layout, err := rdb.RecordLayout(lctx)
	switch {
	case err != nil:
		return
	case layout == store.LayoutHash && cfg.RecordLayout != store.LayoutHash:
		log.Info("records are written in the hash layout of the release before, because this Redis holds an earlier release's data and no layout was chosen: its replicas can still read every record. Once none is left, set MAILPROOF_RECORD_LAYOUT=packed on one replica (the others follow within a minute): a pending record then takes about 160 bytes of Redis instead of 375",
			zap.String("record_layout", layout))
	default:
		log.Info("record layout", zap.String("record_layout", layout))
	}
}
