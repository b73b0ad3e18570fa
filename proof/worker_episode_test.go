package proof

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// TestWorkerAuditTrailKeepsRetriesUnderDeferrals is issue 10's scenario: one user whose
// PATCH always fails, several logins. One login at a time holds the user's lock through
// its retries while the others are deferred every few hundred milliseconds. The user's
// trail must keep the retries and their errors: each run of deferrals of a job is one
// deferred entry, and the entry that ends it carries the count.
func TestWorkerAuditTrailKeepsRetriesUnderDeferrals(t *testing.T) {
	t.Parallel()
	const logins = 4
	h := newHarness(t, func(c *Config) { c.MaxAttempts = 3 }, auth0test.Config{})
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: http.StatusInternalServerError})
	u := h.provision("ada")
	for range logins {
		h.enqueue(h.loginEvent(u))
	}
	reg := prometheus.NewRegistry()
	w := newWorker(h.cfg, h.rdb, h.a0, h.log, reg, time.Now)
	w.busyDelay = func() time.Duration { return 10 * time.Millisecond }
	h.start(w)

	// Every login runs out of attempts in turn, each releasing the lock to the next.
	h.waitFor("every login dead-lettered", func() (bool, string) {
		dead, err := h.rdb.ListDLQ(t.Context(), 100)
		return err == nil && len(dead) == logins, fmt.Sprintf("%d dead letters, %v", len(dead), err)
	})
	h.waitFor("an empty queue", h.queueEmpty)
	h.waitFor("every check undo done", func() (bool, string) {
		undos, err := h.rdb.Undos(t.Context())
		return err == nil && len(undos) == 0, fmt.Sprint(undos, err)
	})
	deferrals := int(counterValue(w.metrics.attempts.WithLabelValues(string(DeferUserBusy))))

	trail := h.trail(u.ID)
	if len(trail) >= 100 {
		t.Fatalf("the trail holds %d entries, its cap: the story was trimmed", len(trail))
	}
	open := map[string]bool{} // webhook id -> in a deferral episode
	counted, episodes, retries, dead, checks := 0, 0, 0, 0, 0
	for i, e := range trail {
		switch e.Outcome {
		case store.AuditDeferred:
			if open[e.WebhookID] {
				t.Errorf("entry %d: a second deferred entry for %s in one episode", i, e.WebhookID)
			}
			if e.DeferReason != string(DeferUserBusy) {
				t.Errorf("entry %d: deferred for %q, want %s", i, e.DeferReason, DeferUserBusy)
			}
			open[e.WebhookID] = true
			episodes++
			continue
		case store.AuditRetry:
			retries++
		case store.AuditDeadLetter:
			dead++
		case store.AuditFlipChecked:
			// Each dead letter gave up after a PATCH whose answer (a 500) may hide a
			// write; the check read the user and found nothing to take back.
			checks++
			continue
		default:
			t.Errorf("entry %d: outcome %s, want only deferred, retry and dead_letter", i, e.Outcome)
		}
		if !strings.Contains(e.Error, "Internal Server Error") {
			t.Errorf("entry %d: %s with error %q, want the PATCH's 500", i, e.Outcome, e.Error)
		}
		switch {
		case open[e.WebhookID] && (e.Deferrals < 1 || e.DeferReason != string(DeferUserBusy)):
			t.Errorf("entry %d: %s ends an episode with %d deferrals (%q), want at least 1 (%s)", i, e.Outcome, e.Deferrals, e.DeferReason, DeferUserBusy)
		case !open[e.WebhookID] && e.Deferrals != 0:
			t.Errorf("entry %d: %s outside any episode with %d deferrals", i, e.Outcome, e.Deferrals)
		}
		counted += e.Deferrals
		open[e.WebhookID] = false
	}
	if want := logins * (h.cfg.MaxAttempts - 1); retries != want {
		t.Errorf("%d retry entries, want %d: every counted attempt but the last of each login", retries, want)
	}
	// One check per user at a time: dead letters while one waits share it.
	if checks < 1 || checks > logins {
		t.Errorf("%d flip_checked entries, want 1 to %d: a check after the dead letters", checks, logins)
	}
	if dead != logins {
		t.Errorf("%d dead_letter entries, want %d", dead, logins)
	}
	if counted != deferrals {
		t.Errorf("the trail counts %d deferrals, the metric %d: want every one in both", counted, deferrals)
	}
	if deferrals <= episodes {
		t.Errorf("%d deferrals in %d episodes: no job waited twice, so the test proves nothing", deferrals, episodes)
	}
	t.Logf("%d deferrals in %d episodes; the trail holds %d entries", deferrals, episodes, len(trail))
}
