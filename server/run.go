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
	rdb, err := store.Open(ctx, cfg.RedisURL, store.WithPendingTTL(cfg.PendingTTL))
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer rdb.Close()
	a0, err := auth0client.New(ctx, auth0client.Config{
		Domain:       cfg.Auth0Domain,
		ClientID:     cfg.Auth0ClientID,
		ClientSecret: cfg.Auth0ClientSecret,
		CAFile:       cfg.Auth0CAFile,
		Timeout:      cfg.Auth0Timeout,
	})
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
	w, err := proof.NewWorker(workerConfig(cfg, redisOK.run, o.Now), rdb, a0, log, reg)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
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

	// The worker runs on a context of its own: shutdown stops it only once the main
	// listener has drained, so events accepted during the drain are still worked on. A
	// worker that cannot start (an evicting or forgetful Redis) ends the process through
	// the group: running without one would accept events and never act on them.
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	workerDone := make(chan struct{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(workerDone)
		return w.Run(loopCtx)
	})
	g.Go(func() error {
		defer stopLoops()
		return serveAll(gctx, cfg, log, mainE, opsE, mainLn, opsLn, func(grace context.Context) error {
			stopLoops()
			select {
			case <-workerDone:
				return nil
			case <-grace.Done():
				return errors.New("worker did not stop within MAILPROOF_SHUTDOWN_GRACE; its jobs will be reclaimed by another replica")
			}
		})
	})
	return g.Wait()
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

// workerConfig is the worker part of the configuration.
func workerConfig(cfg Config, check func(context.Context) error, now func() time.Time) proof.WorkerConfig {
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
