package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrReplicas reports that Redis applied a write on its master but fewer replicas than
// WithMinReplicas asks for confirmed it in time. The write is not lost yet: it is lost
// only if the master dies before it replicates. Callers must not report it as safely
// done (the receiver answers 503; the worker leaves the job to be run again). Match it
// with errors.Is; errors.As with *ReplicaError gives the numbers.
var ErrReplicas = errors.New("write not confirmed by enough Redis replicas")

// ReplicaError is ErrReplicas with what was asked and what came back.
type ReplicaError struct {
	Write   string        // which write: ingest, finish, retry, defer, dead_letter, ...
	Acked   int64         // replicas that confirmed it
	Want    int           // MAILPROOF_REDIS_MIN_REPLICAS
	Timeout time.Duration // how long WAIT waited
}

func (e *ReplicaError) Error() string {
	return fmt.Sprintf("%s: %d of %d replicas confirmed the write within %s (the master applied it); "+
		"check that at least %d replicas are connected to the master and in sync (INFO replication: connected_slaves, each slave's lag)",
		e.Write, e.Acked, e.Want, e.Timeout.Round(time.Millisecond), e.Want)
}

// Is makes errors.Is(err, ErrReplicas) true.
func (e *ReplicaError) Is(target error) bool { return target == ErrReplicas }

// WithMinReplicas makes every write that acknowledges something (an ingested event,
// a job's outcome, an undo record, a replayed dead letter) wait until n replicas
// confirmed it, for at most timeout and never past the caller's deadline; fewer
// confirmations are an error wrapping ErrReplicas. 0, the default, waits for none.
// MAILPROOF_REDIS_MIN_REPLICAS and MAILPROOF_REDIS_TIMEOUT set them.
func WithMinReplicas(n int, timeout time.Duration) Option {
	return func(c *config) { c.minReplicas, c.waitTimeout = n, timeout }
}

// WithReplicaWaitFailures calls f with the write's name (ReplicaError.Write) each time
// a write was not confirmed by enough replicas, for a metric.
func WithReplicaWaitFailures(f func(write string)) Option {
	return func(c *config) { c.onWaitFailure = f }
}

// MinReplicas is the number of replicas each acknowledging write waits for.
func (r *Redis) MinReplicas() int { return r.cfg.minReplicas }

// keyFence is the one key the replica wait itself writes (see runScript).
const keyFence = prefix + "wait-fence"

// fenceTTL keeps the fence from outliving its purpose; it holds a timestamp only.
const fenceTTL = time.Minute

// waitMargin is the part of the caller's time WAIT leaves for its own answer to
// travel back and be handed to the caller, so that a short count arrives as
// ErrReplicas before the caller's deadline rather than as a timeout. A fifth, at most
// 200 ms: 50 ms was too little on a loaded 2-core machine under -race.
func waitMargin(left time.Duration) time.Duration { return min(200*time.Millisecond, left/5) }

// waitByKey carries, in a batch's context, the earliest deadline of the callers in the
// batch: the Ingester sends a batch on a context of its own (flushTimeout), but WAIT
// must answer within what is left to the most hurried caller.
type waitByKey struct{}

func withWaitBy(ctx context.Context, by time.Time) context.Context {
	return context.WithValue(ctx, waitByKey{}, by)
}

// waitTimeout is how long WAIT may block: MAILPROOF_REDIS_TIMEOUT, cut to what is left
// of the caller's deadline and to the client's read timeout (a longer WAIT would read
// as a broken connection), less waitMargin. Never 0: WAIT 0 blocks forever.
func (r *Redis) waitTimeout(ctx context.Context) time.Duration {
	t := r.cfg.waitTimeout
	if t <= 0 {
		t = readTimeout
	}
	if r.readTimeout > 0 {
		t = min(t, r.readTimeout)
	}
	if by, ok := ctx.Value(waitByKey{}).(time.Time); ok {
		t = min(t, time.Until(by))
	}
	if dl, ok := ctx.Deadline(); ok {
		t = min(t, time.Until(dl))
	}
	t -= waitMargin(t)
	return max(t, time.Millisecond)
}

// runScript runs s as s.Run does and, under WithMinReplicas, makes its write wait for
// the replicas. The returned command carries the script's reply, or its error, or the
// ReplicaError of a short WAIT (the script's reply is then still in it, for callers
// that want to know what the master did).
//
// WAIT counts only the writes of the connection it is sent on, so the script, a fence
// and the WAIT go in one pipeline on one connection to the master of {mp} (every key
// is in that slot): go-redis sends a single client's pipeline on one connection; on a
// Cluster the pipeline goes to the node MasterForKey names.
//
// The fence (SET of keyFence) is there for the writes that write nothing: a duplicate
// event, a Finish of a job already acknowledged. Redis versions that set a connection's
// WAIT offset only when a command of it propagates (7.0 sets it on any command) would
// otherwise measure whatever that pooled connection wrote last. After the fence, the
// offset WAIT waits for is the master's offset now, which covers every write the
// master applied before, whoever made it: the first delivery of the event that
// answers duplicate, the Finish of the worker that got there first. So an answer of
// "already done" is as safe as the answer the first caller got.
func (r *Redis) runScript(ctx context.Context, write string, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	if r.cfg.minReplicas <= 0 {
		return s.Run(ctx, r.c, keys, args...)
	}
	timeout := r.waitTimeout(ctx)
	cmd, wait, err := r.scriptAndWait(ctx, s, timeout, keys, args)
	if errors.As(err, new(redis.Error)) && (redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")) {
		// The slot moved (a Cluster failover) and the node refused before running
		// anything: safe to send again, to the master the reloaded map names.
		timeout = r.waitTimeout(ctx)
		cmd, wait, err = r.scriptAndWait(ctx, s, timeout, keys, args)
	}
	switch {
	case err != nil:
		cmd.SetErr(err)
	case wait.Err() != nil:
		cmd.SetErr(fmt.Errorf("wait for %d replicas: %w", r.cfg.minReplicas, wait.Err()))
	case waitAcks(wait) < int64(r.cfg.minReplicas):
		if r.cfg.onWaitFailure != nil {
			r.cfg.onWaitFailure(write)
		}
		cmd.SetErr(&ReplicaError{Write: write, Acked: waitAcks(wait), Want: r.cfg.minReplicas, Timeout: timeout})
	}
	return cmd
}

// waitAcks is WAIT's reply, the number of replicas that confirmed.
func waitAcks(wait *redis.Cmd) int64 {
	n, _ := wait.Int64()
	return n
}

// scriptAndWait sends EVALSHA, the fence and WAIT in one pipeline to the master of
// {mp}, and again with EVAL when the script cache was empty (a restarted or promoted
// Redis): a NOSCRIPT error ran nothing. err is the script's error or the pipeline's.
//
// A NOSCRIPT costs a WAIT too (the fence still went out), which blocks for its whole
// timeout when replicas are missing; so the EVAL gets only what is left of the
// caller's time, and loadScripts loads every script when the store opens.
func (r *Redis) scriptAndWait(ctx context.Context, s *redis.Script, timeout time.Duration, keys []string, args []any) (*redis.Cmd, *redis.Cmd, error) {
	node, err := r.shard(ctx)
	if err != nil {
		return redis.NewCmd(ctx), nil, err
	}
	send := func(eval bool) (*redis.Cmd, *redis.Cmd, error) {
		var cmd *redis.Cmd
		var wait *redis.Cmd
		_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
			if eval {
				cmd = s.Eval(ctx, p, keys, args...)
			} else {
				cmd = s.EvalSha(ctx, p, keys, args...)
			}
			p.Set(ctx, keyFence, ms(r.now()), fenceTTL)
			// Not p.Wait: Pipeliner lacks it. Whole milliseconds, at least 1 (0 waits forever).
			wait = p.Do(ctx, "WAIT", r.cfg.minReplicas, max(timeout.Milliseconds(), 1))
			return nil
		})
		if cmd.Err() != nil {
			err = cmd.Err()
		} else if err != nil && wait.Err() == nil {
			err = fmt.Errorf("fence: %w", err) // the SET failed: a read-only replica, OOM
		} else if wait.Err() != nil {
			err = nil // reported as the WAIT's own error
		}
		return cmd, wait, err
	}
	cmd, wait, err := send(false)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		timeout = min(timeout, r.waitTimeout(ctx))
		cmd, wait, err = send(true)
	}
	if err != nil || wait.Err() != nil {
		r.reloadSlots(ctx, errors.Join(err, wait.Err()))
	}
	return cmd, wait, err
}

// reloadSlots makes a Cluster client re-read the slot map after a failure on the
// master it picked: this path talks to the node directly, so the reloadOnFailure hook
// does not see its errors. A MOVED or CLUSTERDOWN reply says the map is stale; so does
// no reply at all (a dead master).
func (r *Redis) reloadSlots(ctx context.Context, err error) {
	c, ok := r.c.(*redis.ClusterClient)
	if !ok || err == nil {
		return
	}
	var reply redis.Error
	if errors.As(err, &reply) && !strings.HasPrefix(reply.Error(), "MOVED") && !strings.HasPrefix(reply.Error(), "CLUSTERDOWN") &&
		!strings.HasPrefix(reply.Error(), "ASK") && !strings.HasPrefix(reply.Error(), "READONLY") {
		return
	}
	c.ReloadState(ctx)
}

// loadScripts loads every script on the master of {mp}, so that the first writes
// after Open do not pay a NOSCRIPT and a second WAIT (see scriptAndWait). Best
// effort: a failure here only costs that.
func (r *Redis) loadScripts(ctx context.Context) {
	node, err := r.shard(ctx)
	if err != nil {
		return
	}
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range r.scripts.all() {
			s.Load(ctx, p)
		}
		return nil
	})
}

// ConnectedReplicas reads INFO replication on the master of {mp}: how many replicas
// are connected to it, for doctor and /readyz to compare with MinReplicas.
func (r *Redis) ConnectedReplicas(ctx context.Context) (int, error) {
	node, err := r.shard(ctx)
	if err != nil {
		return 0, err
	}
	info, err := node.Info(ctx, "replication").Result()
	if err != nil {
		return 0, wrap("info replication", err)
	}
	v, ok := infoField(info, "connected_slaves")
	if !ok {
		return 0, errors.New("info replication: no connected_slaves")
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil {
		return 0, fmt.Errorf("info replication: connected_slaves %q: %w", v, err)
	}
	return n, nil
}
