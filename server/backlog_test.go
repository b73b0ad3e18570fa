package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// backlogStore opens a store on url, closed when the test ends.
func backlogStore(t *testing.T, url string) *store.Redis {
	t.Helper()
	r, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open redis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// seedBacklog leaves three pending users with a job each: one delayed by a retry, one
// dead-lettered, one still queued.
func seedBacklog(t *testing.T, r *store.Redis) {
	t.Helper()
	ctx := t.Context()
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		u := fmt.Sprintf("auth0|%d", i)
		if err := r.PutPending(ctx, store.Record{UserID: u, Email: "x@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "msg_" + u, UserID: u, ReplayTTL: time.Hour, Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := r.Read(ctx, "c1", 2, 0)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("read: %d jobs, %v; want 2", len(jobs), err)
	}
	if err := r.Retry(ctx, jobs[0], time.Now().Add(time.Hour), "boom"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeadLetter(ctx, jobs[1], "gave up"); err != nil {
		t.Fatal(err)
	}
}

// scrape serves /metrics the way routes does, from a registry holding the backlog
// collector and one other metric, and returns the body and how long it took.
func scrape(t *testing.T, r *store.Redis, timeout time.Duration) (string, time.Duration) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newBacklogCollector(r, timeout))
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "mailproof_other_total", Help: "Another metric."})
	reg.MustRegister(other)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError})
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	took := time.Since(start)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", rec.Code, body)
	}
	if !strings.Contains(string(body), "mailproof_other_total 0") {
		t.Errorf("the other metric is missing:\n%s", body)
	}
	return string(body), took
}

// sample is the value of an unlabelled series in exposition text, and false if absent.
func sample(body, name string) (string, bool) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v, true
		}
	}
	return "", false
}

func TestBacklogCollector(t *testing.T) {
	gauges := []string{"mailproof_queue_jobs", "mailproof_queue_oldest_job_age_seconds", "mailproof_queue_delayed_jobs", "mailproof_dead_letters", "mailproof_pending_records"}
	tests := []struct {
		name       string
		redis      func(t *testing.T) *store.Redis
		want       map[string]string // exact values; the age only when it is 0
		wantErrors string
	}{
		{
			name: "seeded",
			redis: func(t *testing.T) *store.Redis {
				r := backlogStore(t, redistest.URL(t))
				seedBacklog(t, r)
				return r
			},
			want:       map[string]string{"mailproof_queue_jobs": "1", "mailproof_queue_delayed_jobs": "1", "mailproof_dead_letters": "1", "mailproof_pending_records": "3"},
			wantErrors: "0",
		},
		{
			name:       "empty",
			redis:      func(t *testing.T) *store.Redis { return backlogStore(t, redistest.URL(t)) },
			want:       map[string]string{"mailproof_queue_jobs": "0", "mailproof_queue_oldest_job_age_seconds": "0", "mailproof_queue_delayed_jobs": "0", "mailproof_dead_letters": "0", "mailproof_pending_records": "0"},
			wantErrors: "0",
		},
		{
			name: "redis stopped",
			redis: func(t *testing.T) *store.Redis {
				srv := redistest.Dedicated(t)
				r := backlogStore(t, srv.URL())
				srv.Stop()
				return r
			},
			wantErrors: "1",
		},
		{
			name: "redis frozen",
			redis: func(t *testing.T) *store.Redis {
				srv := redistest.Dedicated(t)
				r := backlogStore(t, srv.URL())
				srv.Pause()
				return r
			},
			wantErrors: "1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 300 * time.Millisecond
			body, took := scrape(t, tc.redis(t), timeout)
			if took > timeout+time.Second {
				t.Errorf("scrape took %v, want about the %v timeout at most", took, timeout)
			}
			for _, g := range gauges {
				got, ok := sample(body, g)
				want, exact := tc.want[g]
				switch {
				case tc.want == nil && ok:
					t.Errorf("%s %s: present, want absent while Redis does not answer", g, got)
				case tc.want != nil && !ok:
					t.Errorf("%s: absent, want present", g)
				case exact && got != want:
					t.Errorf("%s %s, want %s", g, got, want)
				}
			}
			if got, _ := sample(body, "mailproof_backlog_scrape_errors_total"); got != tc.wantErrors {
				t.Errorf("mailproof_backlog_scrape_errors_total %q, want %s", got, tc.wantErrors)
			}
		})
	}
}

// TestBacklogOldestJobAge: the age gauge is the oldest queued job's, in seconds.
func TestBacklogOldestJobAge(t *testing.T) {
	r := backlogStore(t, redistest.URL(t))
	seedBacklog(t, r)
	time.Sleep(50 * time.Millisecond)
	body, _ := scrape(t, r, time.Second)
	got, _ := sample(body, "mailproof_queue_oldest_job_age_seconds")
	var age float64
	if _, err := fmt.Sscan(got, &age); err != nil || age < 0.05 || age > 10 {
		t.Errorf("mailproof_queue_oldest_job_age_seconds %q, want the seconds since seeding", got)
	}
}
