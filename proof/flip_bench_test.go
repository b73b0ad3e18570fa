package proof

import (
	"fmt"
	"net/http"
	"slices"
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
//	go test -run '^$' -bench Flip -benchtime 1x ./proof/
func BenchmarkFlip(b *testing.B) {
	const users, rate, workers = 500, 50, 16
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, func(c *Config) {
			c.Rate, c.Concurrency, c.VisibilityTimeout, c.Auth0Timeout = rate, workers, 30*time.Second, 10*time.Second
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

// BenchmarkFlipWindow measures the window in which a changed address can slip under a
// flip: from the fresh read's arrival at the tenant to the PATCH's, per user, with four
// other users' jobs queued ahead (as in the report that found the race), at the default
// budget and a fast one. The floor is one round trip: the same two calls made back to
// back by a bare client in the same process, reported beside it as the baseline.
//
//	go test -run '^$' -bench FlipWindow -benchtime 1x ./proof/
func BenchmarkFlipWindow(b *testing.B) {
	for _, rate := range []float64{2, 100} {
		b.Run(fmt.Sprintf("rate=%v", rate), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				h := newHarness(b, func(c *Config) { c.Rate = rate; c.Concurrency = 4 }, auth0test.Config{})
				users := h.loggedIn("user", 5)
				b.StartTimer()
				stop := h.start(h.worker())
				for _, u := range users {
					h.waitStatus(u.ID, store.StatusVerified)
				}
				b.StopTimer()
				stop()
				var gaps []time.Duration
				for _, u := range users {
					var get, patch time.Time
					for _, c := range h.tenant.Calls() {
						switch {
						case c.Path != "/api/v2/users/"+u.ID:
						case c.Method == http.MethodGet:
							get = c.At
						case c.Method == http.MethodPatch:
							patch = c.At
						}
					}
					gaps = append(gaps, patch.Sub(get))
				}
				floor := backToBack(b, h, users[0].ID)
				slices.Sort(gaps)
				b.ReportMetric(float64(gaps[len(gaps)/2].Microseconds())/1000, "ms-median-window")
				b.ReportMetric(float64(gaps[len(gaps)-1].Microseconds())/1000, "ms-max-window")
				b.ReportMetric(float64(floor.Microseconds())/1000, "ms-floor")
				b.ReportMetric(float64(gaps[len(gaps)/2])/float64(floor), "median/floor")
				b.StartTimer()
			}
		})
	}
}

// backToBack is the floor of the window: the median, over 9 tries, of the time between a
// GET's and a PATCH's arrival when the real client makes them one after the other.
func backToBack(b *testing.B, h *harness, id string) time.Duration {
	var d []time.Duration
	for range 9 {
		h.tenant.ResetCalls()
		if _, err := h.a0.GetUser(b.Context(), id); err != nil {
			b.Fatal(err)
		}
		if _, err := h.a0.VerifyEmail(b.Context(), id); err != nil {
			b.Fatal(err)
		}
		calls := h.tenant.Calls()
		d = append(d, calls[len(calls)-1].At.Sub(calls[len(calls)-2].At))
	}
	slices.Sort(d)
	return d[len(d)/2]
}
