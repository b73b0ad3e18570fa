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

	// Auth0's limit on /dbconnections/change_password, the same on every
	// plan: a burst of 10, then 1 a minute, from one IP address to one
	// email address.
	resetEmailBurst = 10
	resetEmailRate  = 1.0 / 60
)

// bucket is the Management API token bucket: Auth0 documents its limits as
// a bucket of size burst refilled at rate tokens per second.
type bucket struct {
	rate   float64
	burst  int
	tokens float64
	last   time.Time
}

// rateState is what one request learned from the bucket, enough to write the
// x-ratelimit-* headers.
type rateState struct {
	limit     int
	remaining int
	reset     time.Time // when the bucket is full again
}

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

func newBucket(rate float64, burst int, now time.Time) bucket {
	return bucket{rate: rate, burst: burst, tokens: float64(burst), last: now}
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(float64(b.burst), b.tokens+elapsed*b.rate)
		b.last = now
	}
}

// take spends one token if there is one.
func (b *bucket) take(now time.Time) (bool, rateState) {
	b.refill(now)
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	return ok, b.state(now)
}

// peek reports the bucket without spending; injected faults use it so their
// answers carry plausible headers.
func (b *bucket) peek(now time.Time) rateState {
	b.refill(now)
	return b.state(now)
}

func (b *bucket) state(now time.Time) rateState {
	missing := float64(b.burst) - b.tokens
	return rateState{
		limit:     b.burst,
		remaining: int(math.Floor(b.tokens)),
		reset:     now.Add(time.Duration(missing / b.rate * float64(time.Second))),
	}
}

// keyedBuckets is one bucket per key, each created full on first use, for
// Authentication API limits counted per IP address and target.
type keyedBuckets struct {
	rate    float64
	burst   int
	buckets map[string]*bucket
}

func newKeyedBuckets(rate float64, burst int) keyedBuckets {
	return keyedBuckets{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket if there is one.
func (k *keyedBuckets) take(key string, now time.Time) (bool, rateState) {
	b, ok := k.buckets[key]
	if !ok {
		nb := newBucket(k.rate, k.burst, now)
		b = &nb
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

// SetRate replaces the Management API bucket with a full one of the given
// size and refill rate (normalized like Config.Rate and Config.Burst).
func (t *Tenant) SetRate(rate float64, burst int) {
	rate, burst = normalizeRate(rate, burst)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bucket = newBucket(rate, burst, t.now())
}
