package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limiter is the Management API budget shared by every replica: a GCRA
// limiter in Redis (redis_rate) plus a shared pause that a 429 sets.
type Limiter struct {
	r     *Redis
	rl    *redis_rate.Limiter
	limit redis_rate.Limit
	key   string // the GCRA state (redis_rate prefixes "rate:")
	pause string // "no call before" after a 429
	// waiting is set, with a short expiry, while a high-priority caller waits for a
	// slot; WaitLow yields to it. lowWaiting is set while a WaitLow caller waits;
	// WaitLowest yields to both.
	waiting, lowWaiting string
	// lowTurn lets one WaitLow caller of this process poll Redis at a time; the others
	// queue here in order. A herd of pollers both loads Redis and wastes slots: each
	// one wakes a little late, and a low-priority slot cannot be caught up.
	lowTurn, lowestTurn chan struct{}
}

// NewLimiter returns a limiter allowing rate calls per second in total
// across all replicas, evenly spaced with a burst of 2: a caller granted its
// slot late (scheduling, a Redis round trip) may catch up once instead of
// losing that time for good, which keeps the budget used at ~100 % instead of
// ~95 %; every Auth0 plan's bucket holds at least 2. rate may be fractional
// (0.5 is one call every two seconds). Like time.NewTicker it panics on a
// rate that is not positive (or absurdly high): configuration validation
// must have refused it.
func NewLimiter(r *Redis, rate float64) *Limiter {
	return newLimiter(r, keyRate, keyRatePause, rate, 2)
}

// NewAuthLimiter is the Authentication API's budget (reset emails), which Auth0 counts
// apart from the Management API's: rate calls per second across replicas, burst calls
// at once at most.
func NewAuthLimiter(r *Redis, rate float64, burst int) *Limiter {
	return newLimiter(r, keyAuthRate, keyAuthRatePause, rate, burst)
}

func newLimiter(r *Redis, key, pause string, rate float64, burst int) *Limiter {
	if !(rate > 0) || rate > 1e6 || burst < 1 {
		panic(fmt.Sprintf("store: rate limit %v per second, burst %d: want a positive number and burst", rate, burst))
	}
	return &Limiter{
		r:  r,
		rl: redis_rate.NewLimiter(r.c),
		// One call per period of 1/rate seconds.
		limit:      redis_rate.Limit{Rate: 1, Burst: burst, Period: time.Duration(float64(time.Second) / rate)},
		key:        key,
		pause:      pause,
		waiting:    key + ":high-waiting",
		lowWaiting: key + ":low-waiting",
		lowTurn:    make(chan struct{}, 1),
		lowestTurn: make(chan struct{}, 1),
	}
}

// Wait blocks until this caller may make one Management API call: the
// shared pause (if any) has passed and the budget has a slot. It returns
// ctx's error if ctx ends first, or Redis's error: with Redis down nobody
// knows the budget, so nobody calls.
func (l *Limiter) Wait(ctx context.Context) error { return l.WaitN(ctx, 1) }

// WaitN is Wait for calls made back to back: it returns once n slots are
// free together (n is at most the burst, 2), so nothing waits between the
// calls. The worker takes its fresh read and its flip this way: a wait
// between them would be a window in which the address can change after it
// was checked.
func (l *Limiter) WaitN(ctx context.Context, n int) error {
	if n < 1 || n > l.limit.Burst {
		return fmt.Errorf("rate limit: %d calls at once; the budget holds at most %d", n, l.limit.Burst)
	}
	flagged := false
	for {
		if paused, err := l.sleepPause(ctx); err != nil || paused {
			if err != nil {
				return err
			}
			continue
		}
		res, err := l.rl.AllowN(ctx, l.key, l.limit, n)
		if err != nil {
			return wrap("rate limit", err)
		}
		if res.Allowed > 0 {
			if flagged {
				// Bulk work may go on at once; another waiter sets the flag again on
				// its next try.
				l.r.c.Del(context.WithoutCancel(ctx), l.waiting)
			}
			return nil
		}
		// Say a high-priority caller waits, for as long as this wait plus one slot, so
		// WaitLow callers leave the next slot to it.
		wait := max(res.RetryAfter, time.Millisecond)
		if err := l.r.c.Set(ctx, l.waiting, "1", wait+l.limit.Period).Err(); err != nil {
			return wrap("rate limit", err)
		}
		flagged = true
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// WaitLow is Wait for work that can wait (provisioning, the sweep): it takes a slot
// only while no Wait or WaitN caller is waiting for one, and never the bucket's last,
// so a person who has just logged in is flipped first (within one interval of an idle
// budget's time) and bulk work uses what flips leave: the whole refill rate when none
// come.
func (l *Limiter) WaitLow(ctx context.Context) error {
	return l.waitBelow(ctx, l.lowTurn, []string{l.waiting}, l.lowWaiting)
}

// WaitLowest is Wait for the reconcile sweep's own calls: like WaitLow, and it also
// leaves the slot to a WaitLow caller (provisioning) waiting for one, so the sweep
// spends only what flips and provisioning leave.
func (l *Limiter) WaitLowest(ctx context.Context) error {
	return l.waitBelow(ctx, l.lowestTurn, []string{l.waiting, l.lowWaiting}, "")
}

// waitBelow takes a slot at low priority: one caller of this process at a time (turn),
// only while none of the flags above says a caller with priority waits, and never the
// bucket's last. While it waits for the bucket it sets announce (if any) so callers
// below it yield in turn.
func (l *Limiter) waitBelow(ctx context.Context, turn chan struct{}, above []string, announce string) error {
	select {
	case turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-turn }()
	flagged := false
	defer func() {
		if flagged {
			l.r.c.Del(context.WithoutCancel(ctx), announce)
		}
	}()
	for {
		n, err := l.r.c.Exists(ctx, above...).Result()
		if err != nil {
			return wrap("rate limit", err)
		}
		if n > 0 {
			if err := l.announce(ctx, announce, 250*time.Millisecond+l.limit.Period, &flagged); err != nil {
				return err
			}
			if err := sleep(ctx, min(l.limit.Period, 250*time.Millisecond)); err != nil {
				return err
			}
			continue
		}
		if paused, err := l.sleepPause(ctx); err != nil || paused {
			if err != nil {
				return err
			}
			continue
		}
		// One slot less of burst: on the same GCRA state this is allowed only while
		// the bucket would keep a slot afterwards, so a flip that comes along finds one
		// waiting and needs at most one more interval for its pair.
		low := l.limit
		low.Burst = max(low.Burst-1, 1)
		res, err := l.rl.Allow(ctx, l.key, low)
		if err != nil {
			return wrap("rate limit", err)
		}
		if res.Allowed > 0 {
			return nil
		}
		wait := max(res.RetryAfter, time.Millisecond)
		if err := l.announce(ctx, announce, wait+l.limit.Period, &flagged); err != nil {
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// announce sets flag (if any) for d: a caller waits at this priority.
func (l *Limiter) announce(ctx context.Context, flag string, d time.Duration, flagged *bool) error {
	if flag == "" {
		return nil
	}
	if err := l.r.c.Set(ctx, flag, "1", d).Err(); err != nil {
		return wrap("rate limit", err)
	}
	*flagged = true
	return nil
}

// Pause makes every replica's Wait hold until until, as after a 429 whose
// x-ratelimit-reset says when the tenant's bucket refills. A pause only
// ever moves later; it disappears once it has passed.
func (l *Limiter) Pause(ctx context.Context, until time.Time) error {
	if !until.After(l.r.now()) {
		return nil
	}
	// Rounded up to the millisecond: the pause must never end early.
	untilMS := until.Add(time.Millisecond - 1).Truncate(time.Millisecond)
	if err := l.r.scripts.pause.Run(ctx, l.r.c, []string{l.pause}, ms(untilMS)).Err(); err != nil {
		return wrap("rate limit pause", err)
	}
	return nil
}

// sleepPause sleeps out a shared pause, if one is in force, and says whether it did.
func (l *Limiter) sleepPause(ctx context.Context) (bool, error) {
	until, err := l.pausedUntil(ctx)
	if err != nil {
		return false, err
	}
	d := until.Sub(l.r.now())
	if d <= 0 {
		return false, nil
	}
	return true, sleep(ctx, d)
}

func (l *Limiter) pausedUntil(ctx context.Context) (time.Time, error) {
	s, err := l.r.c.Get(ctx, l.pause).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap("rate limit pause", err)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, nil // not ours to fail on; the key expires anyway
	}
	return time.UnixMilli(n), nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
