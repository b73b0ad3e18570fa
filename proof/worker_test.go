package proof

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/store"
)

func TestWorkerVerifiesEligibleLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provision("ada")
	webhookID := h.enqueue(h.loginEvent(u))
	h.start(h.worker())

	rec := h.waitStatus(u.ID, store.StatusVerified)

	if rec.Outcome != OutcomeVerified || rec.Holder != "" {
		t.Errorf("record outcome %q holder %q, want verified and no holder", rec.Outcome, rec.Holder)
	}
	if got, _ := h.tenant.User(u.ID); !got.EmailVerified {
		t.Errorf("tenant user email_verified %v, want true", got.EmailVerified)
	}
	var patches []auth0test.Call
	for _, c := range h.tenant.Calls() {
		if c.Method == http.MethodPatch {
			patches = append(patches, c)
		}
	}
	if len(patches) != 1 {
		t.Fatalf("%d PATCH calls, want 1", len(patches))
	}
	if p := patches[0]; p.Path != "/api/v2/users/"+u.ID || strings.TrimSpace(string(p.Body)) != `{"email_verified":true}` || p.Status != http.StatusOK {
		t.Errorf("PATCH %s %s answered %d, want /api/v2/users/%s {\"email_verified\":true} answered 200", p.Path, p.Body, p.Status, u.ID)
	}
	if n := h.apiCalls(http.MethodGet, 0); n != 1 {
		t.Errorf("%d GET calls, want 1 fresh read before the flip", n)
	}
	entries, err := h.rdb.Audit(t.Context(), u.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Outcome != OutcomeVerified || entries[0].WebhookID != webhookID || entries[0].Attempt != 1 {
		t.Errorf("audit %+v, want one verified entry for webhook %s, attempt 1", entries, webhookID)
	}
	h.waitFor("an empty queue", h.queueEmpty)
}

func TestWorkerPolicyNegatives(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// change adjusts the login event, or with after the tenant or the store once the
		// login was taken in.
		change      func(h *harness, u auth0test.User, ev *event.PostLogin)
		after       bool
		wantOutcome string
		wantStatus  string // "" means no record
		wantGets    int
	}{
		{name: "event says the email is already verified", wantOutcome: OutcomeAlreadyVerified, wantStatus: store.StatusClosed,
			change: func(_ *harness, _ auth0test.User, ev *event.PostLogin) { ev.Data.User.EmailVerified = true }},
		{name: "event email is not the provisioned one", wantOutcome: OutcomeEmailChanged, wantStatus: store.StatusClosed,
			change: func(h *harness, _ auth0test.User, ev *event.PostLogin) {
				ev.Data.User.Email = h.noteEmail("mallory@example.net")
			}},
		{name: "social connection", wantOutcome: OutcomeWrongConnection, wantStatus: store.StatusPending,
			change: func(_ *harness, _ auth0test.User, ev *event.PostLogin) {
				ev.Data.Connection = event.Connection{ID: "con_google", Name: "google-oauth2", Strategy: "google-oauth2"}
			}},
		{name: "another database connection", wantOutcome: OutcomeWrongConnection, wantStatus: store.StatusPending,
			change: func(_ *harness, _ auth0test.User, ev *event.PostLogin) {
				ev.Data.Connection.Name = "Legacy-Users"
			}},
		{name: "passkey login", wantOutcome: OutcomeWrongMethod, wantStatus: store.StatusPending,
			change: func(_ *harness, _ auth0test.User, ev *event.PostLogin) {
				ev.Data.Authentication.Methods = []event.AuthMethod{{Name: "passkey", Timestamp: ev.Timestamp}}
			}},
		{name: "password never reset", wantOutcome: OutcomeNoPasswordReset, wantStatus: store.StatusPending,
			change: func(_ *harness, _ auth0test.User, ev *event.PostLogin) { ev.Data.User.LastPasswordReset = nil }},
		{name: "password reset before provisioning", wantOutcome: OutcomeNoPasswordReset, wantStatus: store.StatusPending,
			change: func(_ *harness, u auth0test.User, ev *event.PostLogin) {
				early := u.CreatedAt.Add(-time.Minute)
				ev.Data.User.LastPasswordReset = &early
			}},
		{name: "email changed in Auth0 after the login", wantOutcome: OutcomeChangedSinceEvent, wantStatus: store.StatusClosed, wantGets: 1, after: true,
			change: func(h *harness, u auth0test.User, _ *event.PostLogin) {
				h.tenant.AddUser(auth0test.UserSeed{ID: u.ID, Email: h.noteEmail("ada.new@example.org"), Connection: u.Connection, CreatedAt: u.CreatedAt})
			}},
		{name: "verified in Auth0 after the login", wantOutcome: OutcomeAlreadyVerified, wantStatus: store.StatusClosed, wantGets: 1, after: true,
			change: func(h *harness, u auth0test.User, _ *event.PostLogin) {
				h.tenant.AddUser(auth0test.UserSeed{ID: u.ID, Email: u.Email, EmailVerified: true, Connection: u.Connection, CreatedAt: u.CreatedAt})
			}},
		{name: "pending record removed before the job ran", wantOutcome: OutcomeNotPending, after: true,
			change: func(h *harness, u auth0test.User, _ *event.PostLogin) {
				if _, err := h.rdb.DeletePending(h.t.Context(), u.ID); err != nil {
					h.t.Fatal(err)
				}
			}},
	}
	for _, tc := range tests {
		for _, r := range Rules() {
			if r.Outcome == tc.wantOutcome && r.Terminal != (tc.wantStatus == store.StatusClosed) {
				t.Fatalf("%s: row expects status %q but rule %q has Terminal %v", tc.name, tc.wantStatus, r.Name, r.Terminal)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, auth0test.Config{})
			u := h.provision("ada")
			ev := h.loginEvent(u)
			if !tc.after {
				tc.change(h, u, &ev)
			}
			h.enqueue(ev)
			if tc.after {
				tc.change(h, u, &ev)
			}
			w := h.worker()
			w.handle(t.Context(), h.read(w.consumer), time.Now())

			if n := h.apiCalls(http.MethodPatch, 0); n != 0 {
				t.Errorf("%s: %d PATCH calls, want none", tc.name, n)
			}
			if n := h.apiCalls(http.MethodGet, 0); n != tc.wantGets {
				t.Errorf("%s: %d GET calls, want %d", tc.name, n, tc.wantGets)
			}
			if got := h.outcomes(u.ID); !slices.Equal(got, []string{tc.wantOutcome}) {
				t.Errorf("%s: audit %q, want [%s]", tc.name, got, tc.wantOutcome)
			}
			rec, err := h.rdb.Get(t.Context(), u.ID)
			switch {
			case tc.wantStatus == "":
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: record %+v, %v; want none", tc.name, rec, err)
				}
			case err != nil:
				t.Fatalf("%s: get record: %v", tc.name, err)
			case tc.wantStatus == store.StatusClosed && (rec.Status != store.StatusClosed || rec.Outcome != tc.wantOutcome):
				t.Errorf("%s: record %s/%s, want closed/%s", tc.name, rec.Status, rec.Outcome, tc.wantOutcome)
			case tc.wantStatus == store.StatusPending && (rec.Status != store.StatusPending || rec.Holder != ""):
				t.Errorf("%s: record %s held by %q, want pending and unheld: the next login may still prove the mailbox", tc.name, rec.Status, rec.Holder)
			}
			if ok, state := h.queueEmpty(); !ok {
				t.Errorf("%s: queue not empty: %s", tc.name, state)
			}
		})
	}
}

func TestWorkerClosesDeletedUserWithoutRetrying(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	h.deleteUser(u.ID)
	h.tenant.ResetCalls()

	w := h.worker()
	w.handle(t.Context(), h.read(w.consumer), time.Now())

	if rec := h.record(u.ID); rec.Status != store.StatusClosed || rec.Outcome != OutcomeUserNotFound {
		t.Errorf("record %s/%s, want closed/user_not_found", rec.Status, rec.Outcome)
	}
	if n, n404 := h.apiCalls("", 0), h.apiCalls(http.MethodGet, http.StatusNotFound); n != 1 || n404 != 1 {
		t.Errorf("%d user calls (%d GETs answered 404), want exactly the one GET answered 404", n, n404)
	}
	if got := h.outcomes(u.ID); !slices.Equal(got, []string{OutcomeUserNotFound}) {
		t.Errorf("audit %q, want [user_not_found]", got)
	}
	if ok, state := h.queueEmpty(); !ok {
		t.Errorf("queue not empty after user_not_found (%s): the job would come back", state)
	}
}

func TestWorkerShutdownFinishesJobInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	// Slow answers keep the job in flight long after the shutdown begins.
	h.tenant.Inject(auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/users/", Latency: 300 * time.Millisecond, Times: 1})
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Latency: 300 * time.Millisecond, Times: 1})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	stop := h.start(h.worker())
	h.waitStatus(u.ID, store.StatusVerifying) // claimed: the Management API calls are under way

	stop() // returns once run has returned

	if rec := h.record(u.ID); rec.Status != store.StatusVerified {
		t.Errorf("record %s after shutdown, want verified: the job in flight was abandoned", rec.Status)
	}
	if n := h.apiCalls(http.MethodPatch, http.StatusOK); n != 1 {
		t.Errorf("%d PATCH calls answered 200, want 1", n)
	}
	if got := h.outcomes(u.ID); !slices.Equal(got, []string{OutcomeVerified}) {
		t.Errorf("audit %q, want [verified]", got)
	}
	if ok, state := h.queueEmpty(); !ok {
		t.Errorf("queue not empty after shutdown: %s", state)
	}
}
