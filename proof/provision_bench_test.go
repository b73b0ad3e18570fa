package proof

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// BenchmarkProvisionBulk provisions MAILPROOF_BENCH_USERS users (default 10,000) with 8
// at once against a tenant that allows 50 Management API calls a second, with
// MAILPROOF_AUTH0_RATE=50 and the worker running. While it runs, an eligible login is
// queued every 500 ms; the same logins are timed from enqueue to flip before the bulk
// run, as the baseline. It reports Management API calls per provisioned user (target 1.0
// with reset emails), the share of the budget the run used (target ≥ 95 % of what flips
// leave), heap growth per 1,000 users, and the p50 and p99 time to a flip with and
// without the bulk run (target: within one budget interval, 20 ms, of each other).
//
//	go test -run '^$' -bench ProvisionBulk -benchtime 1x -timeout 30m ./proof/
func BenchmarkProvisionBulk(b *testing.B) {
	users := 10000
	if s := os.Getenv("MAILPROOF_BENCH_USERS"); s != "" {
		users, _ = strconv.Atoi(s)
	}
	const rate, logins = 50, 20
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, func(c *Config) {
			c.Rate, c.Concurrency, c.VisibilityTimeout, c.Auth0Timeout = rate, 4, 30*time.Second, 10*time.Second
		}, auth0test.Config{Rate: rate, Burst: rate})
		p := h.provisioner()
		p.Budget = store.NewLimiter(h.rdb, rate)
		stop := h.start(h.worker())

		// Baseline: flips alone.
		base := h.timedFlips(logins, "base")

		// The bulk run, with flips arriving throughout.
		var runtimeBefore, runtimeAfter runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&runtimeBefore)
		h.tenant.ResetCalls()
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan int)
		errs := make(chan error, users)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					if _, err := p.Provision(b.Context(), ProvisionRequest{Email: fmt.Sprintf("bulk%06d@example.com", i), By: store.AuditByCLI}); err != nil {
						errs <- err
					}
				}
			})
		}
		var during []time.Duration
		flipsDone := make(chan struct{})
		b.StartTimer()
		go func() {
			defer close(flipsDone)
			time.Sleep(2 * time.Second) // the bulk run has the budget by then
			during = h.timedFlips(logins, "during")
		}()
		for i := range users {
			next <- i
		}
		close(next)
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		<-flipsDone
		runtime.GC()
		runtime.ReadMemStats(&runtimeAfter)
		close(errs)
		for err := range errs {
			b.Fatalf("provision: %v", err)
		}
		calls, flipCalls := 0, 0
		for _, c := range h.tenant.Calls() {
			if !strings.HasPrefix(c.Path, "/api/v2/") {
				continue
			}
			calls++
			if strings.HasPrefix(c.Path, "/api/v2/users/") { // the flips' reads and PATCHes
				flipCalls++
			}
		}
		if n := h.tenant.CountCalls(http.MethodPost, "/api/v2/users"); n < users {
			b.Fatalf("%d creates for %d users", n, users)
		}
		provCalls := calls - flipCalls
		left := rate*elapsed.Seconds() - float64(flipCalls)
		b.ReportMetric(float64(provCalls)/float64(users), "calls/user")
		b.ReportMetric(100*float64(provCalls)/left, "%budget-left-used")
		b.ReportMetric(float64(int64(runtimeAfter.HeapAlloc)-int64(runtimeBefore.HeapAlloc))/float64(users)*1000/1024, "KiB-heap/1k-users")
		b.ReportMetric(pct(base, 50), "ms-flip-p50-alone")
		b.ReportMetric(pct(base, 99), "ms-flip-p99-alone")
		b.ReportMetric(pct(during, 50), "ms-flip-p50-bulk")
		b.ReportMetric(pct(during, 99), "ms-flip-p99-bulk")
		b.ReportMetric(elapsed.Seconds(), "s-elapsed")
		stop()
		b.StartTimer()
	}
}

// timedFlips queues n eligible logins, one every 500 ms, and returns each one's time
// from enqueue to its record reading verified.
func (h *harness) timedFlips(n int, name string) []time.Duration {
	var out []time.Duration
	for i := range n {
		u := h.provision(fmt.Sprintf("%s%03d", name, i))
		at := time.Now()
		h.enqueue(h.loginEvent(u))
		h.waitStatus(u.ID, store.StatusVerified)
		out = append(out, time.Since(at))
		time.Sleep(500 * time.Millisecond)
	}
	return out
}

// pct is the p-th percentile of ds in milliseconds.
func pct(ds []time.Duration, p int) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p+99)/100-1)
	return float64(s[max(i, 0)].Microseconds()) / 1000
}
