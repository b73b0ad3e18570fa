package server

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/store"
)

// Values of MAILPROOF_REDIS_DURABILITY.
const (
	// DurabilityStrict refuses a Redis without AOF: an event is acknowledged only once
	// Redis has it, and without AOF a restart forgets it.
	DurabilityStrict = "strict"
	// DurabilityRelaxed starts on such a Redis and warns, for operators who accept
	// losing what was queued when Redis restarts.
	DurabilityRelaxed = "relaxed"
)

// embeddedWarning is what local mode's in-memory Redis keeps across a restart.
const embeddedWarning = "the embedded Redis of mailproof local keeps nothing across restarts: " +
	"pending records, queued events and the audit trail are gone when this process stops"

// redisCheck decides, once Redis answers, whether it is safe to queue on: a Redis that
// may evict keys is refused, and so is one without AOF unless the operator accepted the
// loss (MAILPROOF_REDIS_DURABILITY=relaxed). What it found stays as a warning for
// /readyz and the status page, which the person on call reads more often than the
// start-up log.
type redisCheck struct {
	rdb        *store.Redis
	durability string
	// embedded is local mode's in-memory Redis: no eviction, no persistence, nothing
	// to read; its warning is known from the start.
	embedded bool
	log      *zap.Logger
	warning  atomic.Pointer[string]
}

func newRedisCheck(cfg Config, rdb *store.Redis, embedded bool, log *zap.Logger) *redisCheck {
	c := &redisCheck{rdb: rdb, durability: cfg.RedisDurability, embedded: embedded, log: log.Named("redis")}
	if embedded {
		c.warn(embeddedWarning)
	}
	return c
}

// run reads Redis's settings in one round trip and returns every reason to refuse it.
func (c *redisCheck) run(ctx context.Context) error {
	if c.embedded {
		return nil
	}
	s, err := c.rdb.ReadSettings(ctx)
	if err != nil {
		return err
	}
	return errors.Join(s.CheckEviction(), c.checkDurability(s))
}

// checkDurability refuses a Redis known to run without AOF under strict, and warns
// about everything else that can lose acknowledged events (see Durability in the README).
func (c *redisCheck) checkDurability(s store.Settings) error {
	loss := s.Loss()
	fields := []zap.Field{zap.String("appendonly", s.AppendOnly), zap.String("appendfsync", s.AppendFsync),
		zap.String("save", s.Save), zap.String("durability", c.durability)}
	switch {
	case s.AppendOnly == "no" && c.durability == DurabilityStrict:
		return fmt.Errorf("redis runs without AOF (appendonly no) and can lose %s; "+
			"turn AOF on (appendonly yes, appendfsync everysec), or set MAILPROOF_REDIS_DURABILITY=%s to accept the loss",
			loss, DurabilityRelaxed)
	case s.AppendOnly == "no":
		c.warn("Redis runs without AOF (appendonly no) and can lose " + loss +
			"; accepted by MAILPROOF_REDIS_DURABILITY=relaxed. Turn AOF on (appendonly yes, appendfsync everysec) to keep acknowledged events")
	case s.ConfigErr != nil:
		c.warn("Redis refuses CONFIG GET (" + s.ConfigErr.Error() + "), so its persistence cannot be checked: it can lose " + loss +
			". Make sure with your provider that AOF is on with appendfsync everysec or always")
	case s.AppendFsync == "no":
		c.warn("Redis writes AOF with appendfsync no and can lose " + loss + ". Set appendfsync everysec")
	default:
		c.log.Info("redis persistence checked", append(fields, zap.String("loss", loss))...)
		return nil
	}
	c.log.Warn("redis can lose acknowledged events", append(fields, zap.String("detail", *c.warning.Load()))...)
	return nil
}

func (c *redisCheck) warn(s string) { c.warning.Store(&s) }

// probe is the readiness check: it never fails, it carries the warning.
func (c *redisCheck) probe(context.Context) error {
	if w := c.warning.Load(); w != nil {
		return handlers.Warn(errors.New(*w))
	}
	return nil
}

// replicasCheck is the readiness check of MAILPROOF_REDIS_MIN_REPLICAS: one INFO
// replication on the master of {mp}. Fewer replicas connected than asked for means
// every event is answered 503 and every job's outcome is retried, so it says so; it is
// a warning, not a failure: taking every replica out of the load balancer would change
// nothing for the logins (the Action fails open either way) and would hide this
// explanation, and a replica that reconnects makes the receiver answer 202 again at once.
func replicasCheck(rdb *store.Redis) func(context.Context) error {
	return func(ctx context.Context) error {
		want := rdb.MinReplicas()
		if want == 0 {
			return nil
		}
		n, err := rdb.ConnectedReplicas(ctx)
		if err != nil {
			return handlers.Warn(fmt.Errorf("cannot count the Redis master's replicas (%v); MAILPROOF_REDIS_MIN_REPLICAS=%d needs them", err, want))
		}
		if n < want {
			return handlers.Warn(fmt.Errorf("the Redis master has %d replicas connected and MAILPROOF_REDIS_MIN_REPLICAS is %d: every event is answered 503 and no job's outcome is confirmed until enough replicas are back (INFO replication on the master; see Troubleshooting in the README)", n, want))
		}
		return nil
	}
}
