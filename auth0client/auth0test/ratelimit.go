package auth0test

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

const (
	defaultRate  = 50
	defaultBurst = 50
)

// resetEmailLimit is Auth0's limit on /dbconnections/change_password, the
// same on every plan: a burst of 10, then 1 a minute, from one IP address to
// one email address.
var resetEmailLimit = perMinute(10, 1)

// limit is one token bucket as Auth0 documents it: a bucket of burst
// requests refilled at n requests per period. A limit given per second
// refills every millisecond, one given per minute every whole second, as
// Auth0's rate-limit policy describes.
type limit struct {
	burst int
	n     float64
	per   time.Duration
	step  time.Duration
}

func perSecond(burst int, n float64) limit {
	return limit{burst: burst, n: n, per: time.Second, step: time.Millisecond}
}

func perMinute(burst int, n float64) limit {
	return limit{burst: burst, n: n, per: time.Minute, step: time.Second}
}

// perSecondRate is the limit's sustained rate in requests per second.
func (l limit) perSecondRate() float64 { return l.n / l.per.Seconds() }

// bucket is one token bucket, created full.
type bucket struct {
	limit
	tokens float64
	last   time.Time // the last refill step counted
}

// rateState is what one request learned from a bucket, enough to write the
// x-ratelimit-* headers.
type rateState struct {
	limit     int
	remaining int
	reset     time.Time // when the bucket is full again
}

// normalizeRate fills in Config.Rate and Config.Burst for the custom plan.
func normalizeRate(rate float64, burst int) (float64, int) {
	if rate <= 0 && burst <= 0 {
		return defaultRate, defaultBurst
	}
	if rate <= 0 {
		rate = defaultRate
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(rate)))
	}
	return rate, burst
}

func newBucket(l limit, now time.Time) *bucket {
	return &bucket{limit: l, tokens: float64(l.burst), last: now}
}

// refill adds what the whole steps since the last one brought. The product
// is taken before the division so that whole periods add whole tokens.
func (b *bucket) refill(now time.Time) {
	steps := now.Sub(b.last) / b.step
	if steps <= 0 {
		return
	}
	elapsed := steps * b.step
	b.tokens = math.Min(float64(b.burst), b.tokens+b.n*float64(elapsed)/float64(b.per))
	b.last = b.last.Add(elapsed)
}

// take spends one token if there is one.
func (b *bucket) take(now time.Time) (bool, rateState) {
	b.refill(now)
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	return ok, b.state()
}

// peek reports the bucket without spending; injected faults use it so their
// answers carry plausible headers.
func (b *bucket) peek(now time.Time) rateState {
	b.refill(now)
	return b.state()
}

// state reports the bucket; the reset is the step at which it is full again.
func (b *bucket) state() rateState {
	missing := float64(b.burst) - b.tokens
	needed := time.Duration(math.Ceil(missing * float64(b.per) / b.n))
	steps := (needed + b.step - 1) / b.step
	return rateState{
		limit:     b.burst,
		remaining: int(math.Floor(b.tokens)),
		reset:     b.last.Add(steps * b.step),
	}
}

// keyedBuckets is one bucket per key, each created full on first use, for
// Authentication API limits counted per IP address and target.
type keyedBuckets struct {
	limit   limit
	buckets map[string]*bucket
}

func newKeyedBuckets(l limit) keyedBuckets {
	return keyedBuckets{limit: l, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket if there is one.
func (k *keyedBuckets) take(key string, now time.Time) (bool, rateState) {
	b, ok := k.buckets[key]
	if !ok {
		b = newBucket(k.limit, now)
		k.buckets[key] = b
	}
	return b.take(now)
}

// setHeaders writes Auth0's rate-limit headers; the reset is rounded up to
// whole Unix seconds, as Auth0 sends it.
func (s rateState) setHeaders(h http.Header) {
	reset := s.reset.Unix()
	if s.reset.Nanosecond() > 0 {
		reset++
	}
	h.Set("X-Ratelimit-Limit", strconv.Itoa(s.limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(s.remaining))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(reset, 10))
}

// spendAuthentication spends the Authentication API's buckets for a request
// outside /api/v2/ and writes their headers; an empty bucket is answered
// with a 429 and false. A path that is no Auth0 API (the reset page, export
// downloads) spends nothing and passes.
func (t *Tenant) spendAuthentication(w http.ResponseWriter, r *http.Request) bool {
	t.mu.Lock()
	ok, st := t.limits.take(r.Method, r.URL.Path, t.now())
	t.mu.Unlock()
	if st.limit > 0 {
		st.setHeaders(w.Header())
	}
	if !ok {
		writeAuthRateLimited(w)
	}
	return ok
}

// writeAuthRateLimited is the Authentication API's 429. The status and
// headers are Auth0's; the body's wording is unconfirmed.
func writeAuthRateLimited(w http.ResponseWriter) {
	writeOAuthError(w, http.StatusTooManyRequests, "too_many_requests", http.StatusText(http.StatusTooManyRequests))
}

// SetRate puts the tenant on the custom plan's Management API limit: one
// full bucket of the given size and refill rate (normalized like
// Config.Rate and Config.Burst). The Authentication API's buckets are left
// as they are.
func (t *Tenant) SetRate(rate float64, burst int) {
	rate, burst = normalizeRate(rate, burst)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limits.setManagement(perSecond(burst, rate), t.now())
}

// SetPlan puts the tenant on a plan's limits (a Config.Plan value; PlanCustom
// means the default 50/s), every bucket full, as a plan change at Auth0
// would leave a quiet tenant. The per-IP-and-email limit of change_password,
// the same on every plan, keeps its state.
func (t *Tenant) SetPlan(plan string) error {
	l, err := newRateLimits(plan, 0, 0, t.now())
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limits = l
	return nil
}
