package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// weirdUserID is a user id the page must show as text, never as markup.
const weirdUserID = `<script>alert(1)</script>`

// statusStore opens a store on url, closed when the test ends.
func statusStore(t *testing.T, url string) *store.Redis {
	t.Helper()
	r, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open redis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// seedStatus gives Redis one of everything the page counts: five pending users with
// jobs; of the four a worker took, one verified, one waiting to be retried (the weird
// user, with markup in its error), one dead-lettered and one still in flight; the fifth
// job not yet delivered.
func seedStatus(t *testing.T, r *store.Redis) {
	t.Helper()
	ctx := t.Context()
	users := []string{"auth0|ada", weirdUserID, "auth0|bob", "auth0|cy", "auth0|dee"}
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	for i, u := range users {
		err := r.PutPending(ctx, store.Record{UserID: u, Email: fmt.Sprintf("user%d@example.com", i), Connection: "Username-Password-Authentication"})
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: fmt.Sprintf("msg_%d", i), UserID: u, ReplayTTL: time.Hour, Payload: []byte("{}")})
		if err != nil || res.Status != store.IngestQueued {
			t.Fatalf("ingest %d: %+v, %v", i, res, err)
		}
	}
	jobs, err := r.Read(ctx, "c1", 4, 0)
	if err != nil || len(jobs) != 4 {
		t.Fatalf("read: %d jobs, %v; want 4", len(jobs), err)
	}
	if _, ok, err := r.Claim(ctx, jobs[0].UserID, jobs[0].Owner()); !ok || err != nil {
		t.Fatalf("claim: %t, %v", ok, err)
	}
	if err := r.Finish(ctx, jobs[0], store.Outcome{Code: store.OutcomeVerified, Close: true}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if err := r.Retry(ctx, jobs[1], time.Now().Add(time.Hour), "auth0 said <b>503</b>"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, err := r.ScheduleUndo(ctx, store.Undo{UserID: "auth0|eve"}, time.Hour); err != nil {
		t.Fatalf("schedule undo: %v", err)
	}
	if err := r.DeadLetter(ctx, jobs[2], "gave up"); err != nil {
		t.Fatalf("dead letter: %v", err)
	}
}

// statusChecks are readiness checks, one failing and one warning, both with markup in
// their message.
func statusChecks() []Check {
	return []Check{
		{Name: "redis", Probe: func(context.Context) error { return nil }},
		{Name: "worker", Probe: func(context.Context) error { return errors.New("worker <i>stalled</i>") }},
		{Name: "redis_durability", Probe: func(context.Context) error { return Warn(errors.New("Redis keeps <u>nothing</u>")) }},
	}
}

// getStatus serves one request to the status page through Echo.
func getStatus(t *testing.T, src StatusSource, timeout time.Duration, query string) *httptest.ResponseRecorder {
	t.Helper()
	e := echo.New()
	e.GET("/", Status(src, timeout, statusChecks()...))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+query, nil))
	return rec
}

func TestStatus(t *testing.T) {
	seeded := store.Stats{Pending: 4, Queued: 2, InFlight: 1, Delayed: 1, Dead: 1, Undos: 1}
	// Things no rendering of the page may contain: the raw markup of the user id, the
	// error and the check; any script or outside resource; the users' addresses.
	neverInHTML := []string{"<script", "<b>503", "<i>stalled", "<u>nothing", "@example.com", "http://", "https://", " src="}
	tests := []struct {
		name string
		// redis returns the store the page reads, seeded or broken as the row needs.
		redis       func(t *testing.T) *store.Redis
		query       string
		wantStatus  int
		wantHTML    []string
		wantStats   *store.Stats // for ?format=json; nil: Redis must be reported unavailable
		wantRecent  []string     // outcomes, newest first, for ?format=json
		wantNoRedis bool
	}{
		{
			name: "html shows counts, decisions and readiness",
			redis: func(t *testing.T) *store.Redis {
				r := statusStore(t, redistest.URL(t))
				seedStatus(t, r)
				return r
			},
			wantStatus: http.StatusOK,
			wantHTML: []string{
				`<meta http-equiv="refresh" content="5">`,
				`id="stat-pending">4<`, `id="stat-queued">2<`, `id="stat-in-flight">1<`, `id="stat-delayed">1<`, `id="stat-dead">1<`, `id="stat-undos">1<`,
				"&lt;script&gt;alert(1)&lt;/script&gt;", "auth0 said &lt;b&gt;503&lt;/b&gt;", "auth0|ada",
				`class="tag ok">verified<`, `class="tag warn">retry<`, `class="tag bad">dead_letter<`, "gave up",
				"Readiness: not ready", "worker &lt;i&gt;stalled&lt;/i&gt;",
				`<div class="banner warn" role="status" id="warning-redis_durability"><strong>Warning:</strong> Redis keeps &lt;u&gt;nothing&lt;/u&gt;</div>`,
				`<span class="tag warn">warning</span> redis_durability`,
			},
		},
		{
			name: "json has the same data",
			redis: func(t *testing.T) *store.Redis {
				r := statusStore(t, redistest.URL(t))
				seedStatus(t, r)
				return r
			},
			query: "?format=json", wantStatus: http.StatusOK,
			wantStats: &seeded, wantRecent: []string{store.AuditDeadLetter, store.AuditRetry, store.OutcomeVerified},
		},
		{
			name:       "empty redis shows zeros",
			redis:      func(t *testing.T) *store.Redis { return statusStore(t, redistest.URL(t)) },
			wantStatus: http.StatusOK,
			wantHTML: []string{
				`id="stat-pending">0<`, `id="stat-dead">0<`, `id="stat-oldest-queued" data-seconds="0">&ndash;<`, "No decisions yet.",
				"No users waiting.", `<li id="sweep-last">no run has completed yet</li>`, `<li id="sweep-open">no run open</li>`,
			},
		},
		{
			name:       "empty redis in json",
			redis:      func(t *testing.T) *store.Redis { return statusStore(t, redistest.URL(t)) },
			query:      "?format=json",
			wantStatus: http.StatusOK, wantStats: &store.Stats{}, wantRecent: []string{},
		},
		{
			name: "redis stopped: banner instead of numbers",
			redis: func(t *testing.T) *store.Redis {
				srv := redistest.Dedicated(t)
				r := statusStore(t, srv.URL())
				srv.Stop()
				return r
			},
			wantStatus: http.StatusOK, wantNoRedis: true,
			wantHTML: []string{"Redis unavailable", "Readiness: not ready", `<meta http-equiv="refresh" content="5">`, `id="warning-redis_durability"`},
		},
		{
			name: "redis frozen: banner after the timeout",
			redis: func(t *testing.T) *store.Redis {
				srv := redistest.Dedicated(t)
				r := statusStore(t, srv.URL())
				srv.Pause()
				return r
			},
			wantStatus: http.StatusOK, wantNoRedis: true, wantHTML: []string{"Redis unavailable"},
		},
		{
			name: "redis stopped in json",
			redis: func(t *testing.T) *store.Redis {
				srv := redistest.Dedicated(t)
				r := statusStore(t, srv.URL())
				srv.Stop()
				return r
			},
			query: "?format=json", wantStatus: http.StatusOK, wantNoRedis: true,
		},
		{
			name:       "unknown format",
			redis:      func(t *testing.T) *store.Redis { return statusStore(t, redistest.URL(t)) },
			query:      "?format=xml",
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := getStatus(t, tc.redis(t), 300*time.Millisecond, tc.query)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body:\n%s", rec.Code, tc.wantStatus, rec.Body)
			}
			if tc.wantStatus != http.StatusOK {
				return
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			body := rec.Body.String()
			if strings.HasPrefix(tc.query, "?format=json") {
				checkStatusJSON(t, body, tc.wantStats, tc.wantRecent, tc.wantNoRedis)
				return
			}
			if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("content type %q, want text/html", ct)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q, want default-src 'none'", csp)
			}
			for _, want := range tc.wantHTML {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			for _, never := range neverInHTML {
				if strings.Contains(body, never) {
					t.Errorf("page contains %q", never)
				}
			}
			if hasStats := strings.Contains(body, `id="stat-`); hasStats == tc.wantNoRedis {
				t.Errorf("page shows counts: %t, want %t", hasStats, !tc.wantNoRedis)
			}
			if banner := strings.Contains(body, "Redis unavailable"); banner != tc.wantNoRedis {
				t.Errorf("page shows the Redis banner: %t, want %t", banner, tc.wantNoRedis)
			}
		})
	}
}

// checkStatusJSON decodes a ?format=json answer and compares it with the wants.
func checkStatusJSON(t *testing.T, body string, wantStats *store.Stats, wantRecent []string, noRedis bool) {
	t.Helper()
	var got StatusReport
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if noRedis {
		if got.Redis != "unavailable" || got.Stats != nil || got.Recent != nil || got.Waiting != nil || got.Sweep != nil {
			t.Errorf("redis %q, stats %v, recent %v, waiting %v, sweep %v; want unavailable and all null", got.Redis, got.Stats, got.Recent, got.Waiting, got.Sweep)
		}
	} else {
		if got.Stats != nil {
			// Jobs seeded just now: TestStatusBacklog checks the age against Redis.
			if age := got.Stats.OldestQueuedSeconds; age < 0 || age > 5 || (age != 0) != (got.Stats.Queued > 0) {
				t.Errorf("oldest queued %vs with %d queued, want a few ms, 0 with none", age, got.Stats.Queued)
			}
			got.Stats.OldestQueuedSeconds = 0
		}
		if got.Redis != "ok" || got.Stats == nil || *got.Stats != *wantStats {
			t.Errorf("redis %q, stats %+v; want ok, %+v", got.Redis, got.Stats, *wantStats)
		}
		if got.Waiting == nil || got.Sweep == nil {
			t.Errorf("waiting %v, sweep %v; want a list and the sweep", got.Waiting, got.Sweep)
		}
		var outcomes []string
		for _, e := range got.Recent {
			outcomes = append(outcomes, e.Outcome)
		}
		if got.Recent == nil || !slices.Equal(outcomes, wantRecent) {
			t.Errorf("recent outcomes %v (nil: %t), want %v", outcomes, got.Recent == nil, wantRecent)
		}
		if len(got.Recent) > 1 && got.Recent[1].UserID != weirdUserID {
			t.Errorf("retry entry for user %q, want the id verbatim in JSON", got.Recent[1].UserID)
		}
	}
	if got.Ready || !got.Checks["redis"].OK || got.Checks["worker"].Error != "worker <i>stalled</i>" {
		t.Errorf("ready %t, checks %+v; want not ready with the worker failing", got.Ready, got.Checks)
	}
	if d := got.Checks["redis_durability"]; !d.OK || d.Error != "" || d.Warning != "Redis keeps <u>nothing</u>" {
		t.Errorf("redis_durability %+v, want ok with its warning verbatim", d)
	}
	if strings.Contains(body, "@example.com") {
		t.Error("JSON contains an email address")
	}
}

func TestStatusListsTheTwentyNewest(t *testing.T) {
	r := statusStore(t, redistest.URL(t))
	ctx := t.Context()
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	const decisions = statusRecent + 5
	for i := range decisions {
		u := fmt.Sprintf("auth0|u%02d", i)
		if err := r.PutPending(ctx, store.Record{UserID: u, Email: "x@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "msg_" + u, UserID: u, ReplayTTL: time.Hour, Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		jobs, err := r.Read(ctx, "c1", 1, 0)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("read %d: %d jobs, %v", i, len(jobs), err)
		}
		if err := r.Finish(ctx, jobs[0], store.Outcome{Code: "wrong_method"}); err != nil {
			t.Fatal(err)
		}
	}
	rec := getStatus(t, r, 2*time.Second, "")
	// The decisions only: the users are still pending, so they are listed as waiting too.
	body, _, _ := strings.Cut(rec.Body.String(), "<h2>Waiting longest")
	if got := strings.Count(body, `<tr><td class="time">`); got != statusRecent {
		t.Errorf("%d decision rows, want %d", got, statusRecent)
	}
	newest, oldestShown, dropped := fmt.Sprintf("auth0|u%02d", decisions-1), fmt.Sprintf("auth0|u%02d", decisions-statusRecent), fmt.Sprintf("auth0|u%02d", decisions-statusRecent-1)
	if !strings.Contains(body, newest) || !strings.Contains(body, oldestShown) || strings.Contains(body, dropped) {
		t.Errorf("rows should run from %s down to %s, without %s:\n%s", newest, oldestShown, dropped, body)
	}
}

// TestStatusShowsDeferralEpisodes: a decision that ended a run of deferrals says how many
// and why, on the page and in JSON.
func TestStatusShowsDeferralEpisodes(t *testing.T) {
	r := statusStore(t, redistest.URL(t))
	ctx := t.Context()
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|ada", Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "msg_1", UserID: "auth0|ada", ReplayTTL: time.Hour, Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	var job store.Job
	for i := range 3 {
		jobs, err := r.Read(ctx, "c1", 1, 0)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("read %d: %d jobs, %v", i, len(jobs), err)
		}
		job = jobs[0]
		if i == 2 {
			break
		}
		now := time.Now()
		if err := r.Defer(ctx, job, now, "rate_limited", "auth0: 429"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.MoveDue(ctx, now, 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Finish(ctx, job, store.Outcome{Code: store.OutcomeVerified, Close: true}); err != nil {
		t.Fatal(err)
	}

	body := getStatus(t, r, 2*time.Second, "").Body.String()
	for _, want := range []string{
		`class="tag ok">verified</span> <span class="muted">deferred ×2 (rate_limited)</span>`,
		`class="tag ">deferred</span> <span class="muted">rate_limited</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	var report StatusReport
	if err := json.Unmarshal(getStatus(t, r, 2*time.Second, "?format=json").Body.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Recent) != 2 || report.Recent[0].Deferrals != 2 || report.Recent[0].DeferReason != "rate_limited" || report.Recent[1].Outcome != store.AuditDeferred {
		t.Errorf("recent %+v, want verified with 2 deferrals (rate_limited), then the deferred entry", report.Recent)
	}
}
