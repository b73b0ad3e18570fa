package proof

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// TestWorkerWaitsForMissingScope: with a grant that lacks update:users, every flip is a
// 403 at Auth0. The job is deferred, never counted, however many times it comes back; the
// worker pauses, says in one error log per pause which scope to grant and where, reports
// it to /readyz and counts it. Once the scope is granted (and the old token revoked, as
// Auth0 tokens keep their scopes), the job goes through and flips once.
func TestWorkerWaitsForMissingScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.MaxAttempts = 2
		c.ScopePause = 40 * time.Millisecond
	}, auth0test.Config{Scopes: []string{"read:users", "create:users"}})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	core, logs := observer.New(zap.ErrorLevel)
	reg := prometheus.NewRegistry()
	w := newWorker(h.cfg, h.rdb, h.a0, zap.New(zapcore.NewTee(core, h.log.Core())), reg, time.Now)
	h.start(w)

	refused := func() int { return h.apiCalls(http.MethodPatch, http.StatusForbidden) }
	// The tenant counts a refusal when it answers, the worker when it has read the
	// answer: wait for the worker's count, and for a refusal it is still reporting.
	counted := func() float64 { return counterValue(w.metrics.scopeErrors.WithLabelValues("update:users")) }
	// MissingScope holds a refusal for four pauses (160 ms here), so the test catches it
	// while the worker reports it: the deferred job's return can take longer under load.
	var reported error
	h.waitFor("five refused flips, counted, the worker reporting one", func() (bool, string) {
		if err := w.MissingScope(t.Context()); err != nil {
			reported = err
		}
		return counted() >= 5 && reported != nil, fmt.Sprintf("%d refused, %v counted, MissingScope %v", refused(), counted(), reported)
	})

	if dead, err := h.rdb.ListDLQ(t.Context(), 10); err != nil || len(dead) != 0 {
		t.Errorf("%d dead letters (%v) after %d refused flips with MaxAttempts 2, want none: a missing scope must not spend attempts", len(dead), err, refused())
	}
	err := reported
	var se *auth0client.ScopeError
	if !errors.As(err, &se) || !slices.Equal(se.Missing, []string{"update:users"}) {
		t.Errorf("MissingScope() = %v, want the refusal naming update:users", err)
	}
	if got := counterValue(w.metrics.scopeErrors.WithLabelValues("update:users")); got < 5 {
		t.Errorf("mailproof_auth0_scope_errors_total{scope=update:users} = %v, want at least 5", got)
	}
	entries := logs.FilterMessageSnippet("lacks a Management API scope").All()
	if len(entries) == 0 {
		t.Fatal("no error log names the missing scope")
	}
	if len(entries) > refused() {
		t.Errorf("%d error logs for %d refusals, want at most one per pause", len(entries), refused())
	}
	for _, want := range []string{"update:users", "Machine to Machine Applications"} {
		if line := entries[0].Message + " " + fmt.Sprint(entries[0].ContextMap()); !strings.Contains(line, want) {
			t.Errorf("error log %q does not say %q", line, want)
		}
	}
	if n := h.apiCalls(http.MethodPatch, http.StatusOK); n != 0 {
		t.Fatalf("%d flips went through without the scope", n)
	}

	// The operator grants the scope; the token mailproof holds keeps its scopes until
	// it is revoked or expires.
	h.tenant.SetScopes(auth0test.MailproofScopes)
	h.tenant.RevokeTokens()
	h.waitStatus(u.ID, store.StatusVerified)

	if n := h.apiCalls(http.MethodPatch, http.StatusOK); n != 1 {
		t.Errorf("%d flips answered 200, want exactly 1", n)
	}
	if got, _ := h.tenant.User(u.ID); !got.EmailVerified {
		t.Error("tenant user not verified after the grant")
	}
	// The deferrals spent no attempt; the revoked token's 401 spent the one counted
	// retry (the client renews its token on a 401, and the next attempt flips).
	trail := h.trail(u.ID)
	if got := h.outcomes(u.ID); !slices.Equal(got, []string{store.AuditDeferred, store.AuditRetry, OutcomeVerified}) {
		t.Fatalf("audit %q, want deferred, retry (the revoked token), verified", got)
	}
	if e := trail[1]; e.Attempt != 1 || e.DeferReason != string(DeferMissingScope) || e.Deferrals < 5 || !strings.Contains(e.Error, "401") {
		t.Errorf("entry ending the deferrals %+v, want attempt 1's 401 after at least 5 missing_scope deferrals", e)
	}
	if e := trail[2]; e.Attempt != 2 {
		t.Errorf("verified at attempt %d, want 2", e.Attempt)
	}
	h.waitFor("readiness to forget the refusal", func() (bool, string) {
		err := w.MissingScope(t.Context())
		return err == nil, fmt.Sprint(err)
	})
	h.waitFor("an empty queue", h.queueEmpty)
}

func TestScopeHoldPauses(t *testing.T) {
	h := &scopeHold{pause: time.Minute}
	t0 := time.Now()
	refusal := errors.New("missing scope")
	if !h.refused(t0, refusal) {
		t.Error("first refusal: want it to start a pause")
	}
	if h.refused(t0.Add(30*time.Second), refusal) {
		t.Error("refusal during a pause: want it to extend the pause, not start one")
	}
	if !h.refused(t0.Add(2*time.Minute), refusal) {
		t.Error("refusal after the pause ended: want a new pause")
	}
	if err := h.current(t0.Add(5 * time.Minute)); err != refusal {
		t.Errorf("current 3 minutes after the last refusal: %v, want it", err)
	}
	if err := h.current(t0.Add(7 * time.Minute)); err != nil {
		t.Errorf("current 5 minutes after the last refusal: %v, want nil (four pauses without one)", err)
	}
}
