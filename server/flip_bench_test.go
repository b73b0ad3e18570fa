package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// BenchmarkFlip flips 500 pending users against a tenant that allows 50 Management API
// requests per second (a bucket of 50), with MAILPROOF_AUTH0_RATE=50 and 16 workers, and
// reports how much of the budget the worker used: the ideal time (calls ÷ rate) as a
// share of the time it took, the calls per flip, and the 429s. Targets: ≥ 95 % of the
// budget, ≤ 2.0 calls per flip, no 429. It takes about 20 s:
//
//	go test -run '^$' -bench Flip -benchtime 1x ./server/
func BenchmarkFlip(b *testing.B) {
	const users, rate, workers = 500, 50, 16
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, func(c *Config) {
			c.Auth0Rate, c.Workers, c.VisibilityTimeout, c.Auth0Timeout = rate, workers, 30*time.Second, 10*time.Second
		}, auth0test.Config{Rate: rate, Burst: rate})
		for i := range users {
			h.enqueue(h.loginEvent(h.provision(fmt.Sprintf("user%03d", i))))
		}
		w := h.worker()
		b.StartTimer()

		start := time.Now()
		stop := h.start(w)
		waitAllFlipped(b, h, 2*time.Minute)
		elapsed := time.Since(start)
		b.StopTimer()
		stop()

		calls, limited := 0, 0
		for _, c := range h.tenant.Calls() {
			if strings.HasPrefix(c.Path, "/api/v2/") {
				calls++
				if c.Status == http.StatusTooManyRequests {
					limited++
				}
			}
		}
		if n := h.apiCalls(http.MethodPatch, http.StatusOK); n != users {
			b.Fatalf("%d PATCH calls answered 200, want %d", n, users)
		}
		ideal := time.Duration(float64(calls) / rate * float64(time.Second))
		b.ReportMetric(100*ideal.Seconds()/elapsed.Seconds(), "%budget")
		b.ReportMetric(float64(calls)/users, "calls/flip")
		b.ReportMetric(float64(limited), "429s")
		b.ReportMetric(elapsed.Seconds(), "s-elapsed")
		b.StartTimer()
	}
}

// waitAllFlipped waits until no record is left pending and every one is verified.
func waitAllFlipped(b *testing.B, h *harness, ceiling time.Duration) {
	deadline := time.Now().Add(ceiling)
	for {
		st, err := h.rdb.QueueStats(b.Context())
		if err == nil && st.Pending == 0 && st.Queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("gave up after %v: %+v, %v", ceiling, st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	recs, err := h.rdb.Audit(b.Context(), "", 10)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range recs {
		if e.Outcome != store.OutcomeVerified {
			b.Fatalf("audit entry %+v, want only verified outcomes", e)
		}
	}
}
