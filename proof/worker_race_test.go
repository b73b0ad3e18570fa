package proof

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

const attacker = "attacker@evil.example"

// provenOnly fails the test if the tenant holds email_verified true on an address other
// than the one mailproof provisioned: the end state mailproof must never leave behind.
func (h *harness) provenOnly(userID, provisioned string) {
	h.t.Helper()
	u, ok := h.tenant.User(userID)
	if ok && u.EmailVerified && u.Email != provisioned {
		h.t.Errorf("user %s ends verified on %s, an address nobody proved (provisioned %s)", userID, u.Email, provisioned)
	}
}

// TestFlipRaceEmailChange changes the address at each point of the worker's read-then-
// write, at the default budget and a fast one: whatever the timing, no flip is left on
// an address nobody proved, and each point ends in its own outcome.
func TestFlipRaceEmailChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		change      auth0test.EmailChange
		wantOutcome string
		wantPatches int // flips and undos
		wantFinal   bool
		wantAudit   []string
	}{
		{name: "before the read", change: auth0test.EmailChange{Method: http.MethodGet, Moment: auth0test.BeforeCall},
			wantOutcome: OutcomeChangedSinceEvent, wantPatches: 0,
			wantAudit: []string{OutcomeChangedSinceEvent}},
		{name: "after the read was answered", change: auth0test.EmailChange{Method: http.MethodGet, Moment: auth0test.AfterCall},
			wantOutcome: OutcomeChangedDuringFlip, wantPatches: 2,
			wantAudit: []string{store.AuditFlipUndone, OutcomeChangedDuringFlip}},
		{name: "just before the PATCH", change: auth0test.EmailChange{Method: http.MethodPatch, Moment: auth0test.BeforeCall},
			wantOutcome: OutcomeChangedDuringFlip, wantPatches: 2,
			wantAudit: []string{store.AuditFlipUndone, OutcomeChangedDuringFlip}},
		{name: "after the PATCH, before its answer", change: auth0test.EmailChange{Method: http.MethodPatch, Moment: auth0test.AfterCall},
			// The flip landed on the proven address; the change then made Auth0 drop it.
			wantOutcome: OutcomeVerified, wantPatches: 1,
			wantAudit: []string{OutcomeVerified}},
	}
	for _, rate := range []float64{2, 100} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s at %v per second", tc.name, rate), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, func(c *Config) { c.Rate = rate }, auth0test.Config{})
				w := h.worker()
				// Other users' jobs queued ahead, so the budget is contended as in the field.
				others := h.loggedIn("queued", 3)
				u := h.provision("kate")
				h.noteEmail(attacker)
				tc.change.UserID, tc.change.Email = u.ID, attacker
				h.tenant.ScheduleEmailChange(tc.change)
				h.enqueue(h.loginEvent(u))
				h.start(w)

				rec := h.waitStatus(u.ID, statusOf(tc.wantOutcome))
				for _, o := range others {
					h.waitStatus(o.ID, store.StatusVerified)
				}
				h.waitFor("an empty queue", h.queueEmpty)

				if rec.Outcome != tc.wantOutcome {
					t.Errorf("record outcome %q, want %q", rec.Outcome, tc.wantOutcome)
				}
				final, _ := h.tenant.User(u.ID)
				if final.Email != attacker || final.EmailVerified {
					t.Errorf("user ends %s verified %v, want %s unverified", final.Email, final.EmailVerified, attacker)
				}
				h.provenOnly(u.ID, u.Email)
				if n := h.userCalls(u.ID, http.MethodPatch); n != tc.wantPatches {
					t.Errorf("%d PATCHes of the user, want %d", n, tc.wantPatches)
				}
				h.waitFor("the audit trail", func() (bool, string) {
					got := h.outcomes(u.ID)
					return slices.Equal(got, tc.wantAudit), fmt.Sprint(got)
				})
				if undos, err := h.rdb.Undos(t.Context()); err != nil || len(undos) != 0 {
					t.Errorf("undo list %+v, %v; want empty", undos, err)
				}
				if got, want := counterValue(w.metrics.undos.WithLabelValues(UndoDone)), float64(tc.wantPatches/2); got != want {
					t.Errorf("mailproof_flip_undos_total{result=done} %v, want %v", got, want)
				}
			})
		}
	}
}

// statusOf is the record status an outcome leaves.
func statusOf(outcome string) string {
	if outcome == OutcomeVerified {
		return store.StatusVerified
	}
	return store.StatusClosed
}

// userCalls counts the Management API calls with method on one user.
func (h *harness) userCalls(userID, method string) int {
	n := 0
	for _, c := range h.tenant.Calls() {
		if c.Path == "/api/v2/users/"+userID && c.Method == method {
			n++
		}
	}
	return n
}

// TestFlipRaceByDelay changes addresses after random delays, so changes land wherever the
// worker happens to be; only the end state is asserted, for every user.
func TestFlipRaceByDelay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Rate = 100; c.Concurrency = 4 }, auth0test.Config{})
	h.noteEmail(attacker)
	users := h.loggedIn("user", 20)
	h.start(h.worker())
	for i, u := range users {
		h.tenant.ChangeEmailAfter(u.ID, fmt.Sprintf("attacker%d@evil.example", i), time.Duration(rand.IntN(60))*time.Millisecond)
	}
	for _, u := range users {
		h.waitFor("a final record", func() (bool, string) {
			rec := h.record(u.ID)
			return rec.Status == store.StatusVerified || rec.Status == store.StatusClosed, rec.Status
		})
	}
	h.waitFor("an empty queue", h.queueEmpty)
	time.Sleep(100 * time.Millisecond) // every delayed change has landed
	h.waitFor("an empty undo list", func() (bool, string) {
		undos, err := h.rdb.Undos(t.Context())
		return err == nil && len(undos) == 0, fmt.Sprint(undos, err)
	})
	for _, u := range users {
		h.provenOnly(u.ID, u.Email)
	}
}

// TestFlipResumedOnAnotherAddress: a replica PATCHed after the address changed and died
// before it could check the answer. The replica that takes the job over reads the user,
// sees the flag on an address nobody proved, and takes it back.
func TestFlipResumedOnAnotherAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shortLease, auth0test.Config{})
	u := h.provision("kate")
	h.noteEmail(attacker)
	h.enqueue(h.loginEvent(u))
	crashed := h.worker()
	job := h.read(crashed.consumer)
	if _, ok, err := h.rdb.Claim(t.Context(), u.ID, job.Owner()); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	h.tenant.ChangeEmail(u.ID, attacker, false)
	h.tenant.ChangeEmail(u.ID, attacker, true) // the dead replica's PATCH, landed on the new address

	h.start(h.worker())
	rec := h.waitStatus(u.ID, store.StatusClosed)

	if rec.Outcome != OutcomeChangedDuringFlip {
		t.Errorf("record outcome %q, want %s", rec.Outcome, OutcomeChangedDuringFlip)
	}
	h.provenOnly(u.ID, u.Email)
	if final, _ := h.tenant.User(u.ID); final.EmailVerified {
		t.Errorf("user still verified on %s", final.Email)
	}
}

// TestUndoSurvivesCrashAndOutage: a replica listed an undo and died before calling Auth0,
// and Auth0 then fails the first undo calls. The undo is neither lost nor given up, and it
// goes before the next job.
func TestUndoSurvivesCrashAndOutage(t *testing.T) {
	t.Parallel()
	// One consumer, so "before the next job" has one meaning.
	h := newHarness(t, func(c *Config) { c.Concurrency = 1 }, auth0test.Config{})
	victim := h.provision("kate")
	h.noteEmail(attacker)
	h.tenant.ChangeEmail(victim.ID, attacker, true)
	if _, err := h.rdb.ScheduleUndo(t.Context(), store.Undo{UserID: victim.ID, JobID: "1-0", WebhookID: "msg_dead"}, 0); err != nil {
		t.Fatal(err)
	}
	other := h.provision("olga")
	h.enqueue(h.loginEvent(other))
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/" + victim.ID, Status: http.StatusInternalServerError, Times: 2})

	w := h.worker()
	h.start(w)
	h.waitFor("the undo", func() (bool, string) {
		u, _ := h.tenant.User(victim.ID)
		return !u.EmailVerified, fmt.Sprint(u.EmailVerified)
	})
	h.waitStatus(other.ID, store.StatusVerified)

	var order []string
	for _, c := range h.tenant.Calls() {
		if c.Method == http.MethodPatch {
			order = append(order, fmt.Sprintf("%s %d", c.Path, c.Status))
		}
	}
	if len(order) != 4 || order[0] != "/api/v2/users/"+victim.ID+" 500" || order[3] != "/api/v2/users/"+victim.ID+" 200" {
		t.Errorf("PATCHes %q, want the undo first, failing twice with the other user's flip in between, then done", order)
	}
	h.waitFor("the undo list to empty", func() (bool, string) {
		undos, err := h.rdb.Undos(t.Context())
		return err == nil && len(undos) == 0, fmt.Sprint(undos, err)
	})
	if got := h.outcomes(victim.ID); !slices.Equal(got, []string{store.AuditFlipUndone}) {
		t.Errorf("victim's audit %q, want [%s]", got, store.AuditFlipUndone)
	}
	h.waitFor("the undo metrics", func() (bool, string) {
		done, failed := counterValue(w.metrics.undos.WithLabelValues(UndoDone)), counterValue(w.metrics.undos.WithLabelValues(UndoFailed))
		return done == 1 && failed == 2, fmt.Sprintf("done %v failed %v, want 1 and 2", done, failed)
	})
}

// TestDeadLetterAfterUnansweredPatchLeavesCheck: a job that gives up after PATCHes whose
// answers never came leaves a Check undo; the check reads the user and finds nothing to
// take back.
func TestDeadLetterAfterUnansweredPatchLeavesCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxAttempts = 1 }, auth0test.Config{})
	u := h.provision("kate")
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, Status: http.StatusBadGateway, Times: 1})
	h.enqueue(h.loginEvent(u))
	h.start(h.worker())

	h.waitFor("the check", func() (bool, string) {
		got := h.outcomes(u.ID)
		return slices.Contains(got, store.AuditFlipChecked), fmt.Sprint(got)
	})
	entries, err := h.rdb.Audit(t.Context(), u.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Outcome != store.AuditFlipChecked || entries[0].Error != "checked: email_verified is false, nothing to take back" {
		t.Errorf("newest audit entry %+v, want the check's finding", entries[0])
	}
	if n := h.userCalls(u.ID, http.MethodPatch); n != 1 {
		t.Errorf("%d PATCHes, want only the failed flip", n)
	}
	dead, err := h.rdb.ListDLQ(t.Context(), 10)
	if err != nil || len(dead) != 1 {
		t.Errorf("dead letters %+v, %v; want the job", dead, err)
	}
}

// counterValue reads one counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
