package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound reports that a record or entry does not exist (redis.Nil and
// its equivalents never leave the package).
var ErrNotFound = errors.New("not found")

// Client timeouts: short, because every caller is either answering a login
// that waits on it or a worker that will retry. A Redis that cannot answer
// in a second is down as far as mailproof is concerned.
const (
	dialTimeout  = 2 * time.Second
	readTimeout  = time.Second
	writeTimeout = time.Second
	// openTimeout bounds Open's first PING when the caller's context has no
	// deadline.
	openTimeout = 5 * time.Second
)

// Defaults for Options.
const (
	defaultRetention     = 30 * 24 * time.Hour
	defaultAuditMaxLen   = 100_000
	defaultDLQMaxLen     = 10_000
	defaultUserAuditSize = 100
)

// Redis is mailproof's view of its Redis: pending records, the replay guard,
// the job queue, dead letters, the audit trail and the shared rate limit.
// It is safe for concurrent use.
type Redis struct {
	c       redis.UniversalClient
	addr    string // where Redis is, for error messages; never the URL (it may hold a password)
	cfg     config
	scripts scripts
	now     func() time.Time
	// readTimeout is the client's, which caps a replica WAIT (see waitTimeout).
	readTimeout time.Duration

	// reclaimMu guards reclaimFrom, where the next Reclaim resumes its walk
	// of the group's pending list (see Reclaim).
	reclaimMu   sync.Mutex
	reclaimFrom string

	// layout is the record layout this replica writes (see RecordLayout).
	layout layoutState
}

type config struct {
	layout        string // WithRecordLayout
	pendingTTL    time.Duration
	retention     time.Duration
	auditMaxLen   int64
	dlqMaxLen     int64
	userAuditSize int64
	// minReplicas, waitTimeout and onWaitFailure: see WithMinReplicas.
	minReplicas   int
	waitTimeout   time.Duration
	onWaitFailure func(write string)
	// blockingReaders: see WithBlockingReaders.
	blockingReaders int
}

// Option changes how Open configures the store.
type Option func(*config)

// WithPendingTTL makes pending records expire d after their provisioning
// time: an expired record reads as status "expired" and no longer accepts
// events. Zero (the default) means pending records never expire.
func WithPendingTTL(d time.Duration) Option {
	return func(c *config) { c.pendingTTL = d }
}

// WithRetention sets how long records that are finished (verified, closed or
// expired) and per-user audit trails are kept before Redis deletes them.
// Zero keeps them forever. The default is 30 days.
func WithRetention(d time.Duration) Option {
	return func(c *config) { c.retention = d }
}

// WithAuditMaxLen caps the global audit stream at about n entries (Redis
// trims whole stream nodes, so it may hold up to ~100 more). The default is
// 100 000.
func WithAuditMaxLen(n int64) Option {
	return func(c *config) { c.auditMaxLen = n }
}

// WithDLQMaxLen caps the dead-letter stream at about n entries. The default
// is 10 000.
func WithDLQMaxLen(n int64) Option {
	return func(c *config) { c.dlqMaxLen = n }
}

// WithBlockingReaders says that n goroutines (the worker's) will each hold a connection
// in a blocking read of the job stream. go-redis's pool defaults to 10 connections per
// GOMAXPROCS, which a container with a CPU limit of 1 makes 10: sixteen workers parked
// in XREADGROUP would then leave every other call (ingest, claim, the rate limiter's
// script, a replica WAIT) queueing for the pool until its timeout. Open adds n to the
// default pool of every node, unless the URL sets pool_size itself.
func WithBlockingReaders(n int) Option {
	return func(c *config) { c.blockingReaders = max(n, 0) }
}

// Open connects to the Redis deployment rawURL describes (a single node,
// Sentinel or Cluster; see "Connecting" in the package documentation),
// checks that it answers, and returns the store. Errors never contain the
// URL's passwords.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Redis, error) {
	cfg := config{
		retention:     defaultRetention,
		auditMaxLen:   defaultAuditMaxLen,
		dlqMaxLen:     defaultDLQMaxLen,
		userAuditSize: defaultUserAuditSize,
		layout:        LayoutAuto,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if !ValidLayout(cfg.layout) {
		return nil, fmt.Errorf("redis: record layout %q: want %s, %s or %s", cfg.layout, LayoutAuto, LayoutPacked, LayoutHash)
	}
	if cfg.pendingTTL < 0 || cfg.retention < 0 || cfg.auditMaxLen <= 0 || cfg.dlqMaxLen <= 0 || cfg.minReplicas < 0 {
		return nil, errors.New("redis: negative TTL or replica count, or non-positive stream cap")
	}

	d, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	d.growPool(cfg.blockingReaders)
	r := &Redis{
		c:           d.client(),
		addr:        d.String(),
		cfg:         cfg,
		scripts:     newScripts(),
		now:         time.Now,
		readTimeout: d.readTimeout(),
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	if err := r.Ping(ctx); err != nil {
		_ = r.c.Close()
		return nil, err
	}
	if cfg.minReplicas > 0 {
		r.loadScripts(ctx)
	}
	return r, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping %s: %w", r.addr, err)
	}
	return nil
}

// Close closes the connections.
func (r *Redis) Close() error {
	return r.c.Close()
}

// Client returns the underlying client, for the few callers (the local mode,
// tests) that need a raw Redis command.
func (r *Redis) Client() redis.UniversalClient {
	return r.c
}

// wrap adds context to a Redis error and turns redis.Nil into ErrNotFound.
func wrap(op string, err error) error {
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, err)
}
