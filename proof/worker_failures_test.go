package proof

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

func TestWorkerRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: http.StatusInternalServerError, Times: 3})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	h.start(h.worker())

	h.waitStatus(u.ID, store.StatusVerified)

	if n, n500, n200 := h.apiCalls(http.MethodPatch, 0), h.apiCalls(http.MethodPatch, 500), h.apiCalls(http.MethodPatch, 200); n != 4 || n500 != 3 || n200 != 1 {
		t.Errorf("PATCH calls: %d (%d answered 500, %d answered 200), want 4: three failures, one effective", n, n500, n200)
	}
	if got, want := h.outcomes(u.ID), []string{store.AuditRetry, store.AuditRetry, store.AuditRetry, OutcomeVerified}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
	if got, _ := h.tenant.User(u.ID); !got.EmailVerified {
		t.Error("tenant user not verified")
	}
	h.waitFor("an empty queue", h.queueEmpty)
}

func TestWorkerDeadLettersWhenAttemptsRunOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxAttempts = 3 }, auth0test.Config{})
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: http.StatusInternalServerError})
	u := h.provision("ada")
	webhookID := h.enqueue(h.loginEvent(u))
	h.start(h.worker())

	var dead []store.DeadJob
	h.waitFor("a dead letter", func() (bool, string) {
		var err error
		dead, err = h.rdb.ListDLQ(t.Context(), 10)
		return err == nil && len(dead) > 0, fmt.Sprintf("%d dead letters, %v", len(dead), err)
	})

	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	if d := dead[0]; d.Job.UserID != u.ID || d.Job.WebhookID != webhookID || d.Job.Attempt != 3 ||
		!strings.Contains(d.Error, "set email_verified") || !strings.Contains(d.Error, "Internal Server Error") {
		t.Errorf("dead letter %s attempt %d error %q, want user %s, webhook %s, attempt 3 and the PATCH's 500 as the error", d.Job.UserID, d.Job.Attempt, d.Error, u.ID, webhookID)
	}
	if rec := h.record(u.ID); rec.Status != store.StatusPending || rec.Holder != "" {
		t.Errorf("record %s held by %q, want pending and unheld so a later login or the sweep can verify", rec.Status, rec.Holder)
	}
	// The last PATCH's 500 may hide a write: the dead letter leaves a check, which reads
	// the user and finds nothing to take back.
	want := []string{store.AuditRetry, store.AuditRetry, store.AuditDeadLetter, store.AuditFlipChecked}
	h.waitFor("the check after the dead letter", func() (bool, string) {
		got := h.outcomes(u.ID)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
	if n := h.apiCalls(http.MethodPatch, 0); n != 3 {
		t.Errorf("%d PATCH calls, want one per attempt (3)", n)
	}
	h.waitFor("an empty queue", h.queueEmpty)
}

func TestWorkerDeadLettersPermanentRejection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: http.StatusBadRequest, Times: 1})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	w := h.worker()

	w.handle(t.Context(), h.read(w.consumer), time.Now())

	dead, err := h.rdb.ListDLQ(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Job.Attempt != 1 || !strings.Contains(dead[0].Error, "request rejected") {
		t.Fatalf("dead letters %+v, want one from attempt 1 with the 400 as the error", dead)
	}
	if n := h.apiCalls(http.MethodPatch, 0); n != 1 {
		t.Errorf("%d PATCH calls, want 1: a 400 is not retried", n)
	}
	if rec := h.record(u.ID); rec.Status != store.StatusPending || rec.Holder != "" {
		t.Errorf("record %s held by %q, want pending and unheld", rec.Status, rec.Holder)
	}
	if got, want := h.outcomes(u.ID), []string{store.AuditDeadLetter}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
	if ok, state := h.queueEmpty(); !ok {
		t.Errorf("queue not empty: %s", state)
	}
}

func TestWorkerKeepsToBudgetInRateLimitStorm(t *testing.T) {
	t.Parallel()
	const rate = 10 // calls per second the worker may spend
	// The tenant allows far less than the configured budget: 429s are certain.
	h := newHarness(t, func(c *Config) { c.Rate, c.Concurrency, c.MaxAttempts = rate, 4, 8 }, auth0test.Config{Rate: 2, Burst: 2})
	users := h.loggedIn("user", 3)
	h.start(h.worker())

	for _, u := range users {
		h.waitStatus(u.ID, store.StatusVerified)
	}

	var at []time.Time
	limited := 0
	for _, c := range h.tenant.Calls() {
		if strings.HasPrefix(c.Path, "/api/v2/") {
			at = append(at, c.At)
			if c.Status == http.StatusTooManyRequests {
				limited++
			}
		}
	}
	if limited == 0 {
		t.Fatal("no 429 at all: the storm did not happen, the test proves nothing")
	}
	// Calls leave the limiter at least 1/rate apart; allow 100ms of network and
	// scheduling jitter between the limiter and the tenant's clock.
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	const window = time.Second - 100*time.Millisecond
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < window; j++ {
			n++
		}
		if n > rate {
			t.Errorf("%d Management API calls within %v from call %d, want at most %d (MAILPROOF_AUTH0_RATE)", n, window, i, rate)
		}
	}
	for _, u := range users {
		if n := countCalls(h.tenant, http.MethodPatch, u.ID, http.StatusOK); n != 1 {
			t.Errorf("user %s: %d PATCH calls answered 200, want 1", u.ID, n)
		}
	}
	t.Logf("%d Management API calls, %d answered 429", len(at), limited)
}

// countCalls counts calls with method on one user's path answered with status.
func countCalls(tenant *auth0test.Tenant, method, userID string, status int) int {
	n := 0
	for _, c := range tenant.Calls() {
		if c.Method == method && c.Path == "/api/v2/users/"+userID && c.Status == status {
			n++
		}
	}
	return n
}

func TestWorkerRecreatesLostConsumerGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		lose func(t *testing.T, srv *redistest.Server, h *harness)
	}{
		{name: "redis restarted without persistence", lose: func(_ *testing.T, srv *redistest.Server, _ *harness) { srv.Restart() }},
		{name: "redis flushed", lose: func(t *testing.T, _ *redistest.Server, h *harness) {
			if err := h.rdb.Client().FlushAll(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Dedicated(t)
			h := newHarnessAt(t, srv.URL(), nil, auth0test.Config{})
			h.start(h.worker())
			before := h.provision("before")
			h.enqueue(h.loginEvent(before))
			h.waitStatus(before.ID, store.StatusVerified)

			tc.lose(t, srv, h)
			// The first command on a pooled connection the restart broke may fail; that
			// is the client's business, not the worker's, so setup waits for a clean one.
			h.waitFor("Redis to answer again", func() (bool, string) {
				err := h.rdb.Ping(t.Context())
				return err == nil, fmt.Sprint(err)
			})
			after := h.provision("after")
			h.enqueue(h.loginEvent(after))

			h.waitStatus(after.ID, store.StatusVerified)
			if n := countCalls(h.tenant, http.MethodPatch, after.ID, http.StatusOK); n != 1 {
				t.Errorf("%s: %d PATCH calls for the new user, want 1", tc.name, n)
			}
		})
	}
}

// TestWorkerWaitsOutAnAuth0Outage: while the Management API answers nothing at all (every
// call a 503), a job's failures are Auth0's, not its own: it backs off without spending
// attempts, so an outage longer than the retry schedule (two attempts here) leaves no
// dead letter, and the user is verified once Auth0 is back.
func TestWorkerWaitsOutAnAuth0Outage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.MaxAttempts = 2
		c.RetryBase, c.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	}, auth0test.Config{})
	h.tenant.Inject(auth0test.Fault{PathPrefix: "/api/v2/", Status: http.StatusServiceUnavailable})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	h.start(h.worker())

	// Far more failed calls than the two attempts allow.
	h.waitFor("ten failed reads", func() (bool, string) {
		if dead, err := h.rdb.ListDLQ(t.Context(), 10); err != nil || len(dead) != 0 {
			t.Fatalf("dead letters during the outage: %d (%v), want none", len(dead), err)
		}
		n := h.apiCalls(http.MethodGet, http.StatusServiceUnavailable)
		return n >= 10, fmt.Sprintf("%d reads answered 503", n)
	})
	h.tenant.ClearFaults()
	h.waitStatus(u.ID, store.StatusVerified)
	if n := h.apiCalls(http.MethodPatch, 0); n != 1 {
		t.Errorf("%d PATCH calls, want 1", n)
	}
	h.waitFor("an empty queue", h.queueEmpty)
}

// TestWorkerCountsFailuresWhileAuth0Answers: the same 503s on one user's reads while
// Auth0 answers other calls spend the job's attempts as before: a job that fails on its
// own is dead-lettered, not deferred for a day.
func TestWorkerCountsFailuresWhileAuth0Answers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.MaxAttempts = 2
		c.RetryBase, c.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	}, auth0test.Config{})
	u := h.provision("ada")
	other := h.provision("grace")
	h.tenant.Inject(auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/users/" + u.ID, Status: http.StatusServiceUnavailable})
	// Auth0 answers a call of this client just before the job runs.
	if _, err := h.a0.GetUser(t.Context(), other.ID); err != nil {
		t.Fatalf("read %s: %v", other.ID, err)
	}
	h.enqueue(h.loginEvent(u))
	h.start(h.worker())
	h.waitFor("a dead letter", func() (bool, string) {
		dead, err := h.rdb.ListDLQ(t.Context(), 10)
		return err == nil && len(dead) == 1, fmt.Sprintf("%d dead letters, %v", len(dead), err)
	})
}
