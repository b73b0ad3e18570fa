package proof

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// The person resets their password again after the login the sweep found: the job's
// fresh read sees no login since that reset, and the record keeps waiting. Their next
// login is a new find, queued though the first is still remembered, and it flips.
func TestSweepFindsTheLoginAfterASecondReset(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provisionMarked("again")
	h.resetAndLogIn(u.ID)
	first := h.sweep(h.sweeper(nil))
	if len(first.Queued) != 1 {
		t.Fatalf("first sweep %+v; want the login queued", first)
	}
	h.tenant.ResetPassword(u.ID, time.Now().Add(-2*time.Minute))

	stop := h.start(h.worker())
	h.waitFor("the first job to finish", func() (bool, string) {
		done, err := h.rdb.JobOutcomes(t.Context(), first.Queued)
		return err == nil && len(done) == 1, fmt.Sprint(done, err)
	})
	stop()
	if rec := h.record(u.ID); rec.Status != store.StatusPending {
		t.Fatalf("after a reset newer than the found login the record is %s; want pending", rec.Status)
	}
	if got := h.outcomes(u.ID); !slices.Equal(got, []string{OutcomeNoLoginSinceReset}) {
		t.Fatalf("outcomes %v; want [%s]", got, OutcomeNoLoginSinceReset)
	}
	if n := h.apiCalls("PATCH", 0); n != 0 {
		t.Fatalf("%d PATCHes; want none before a login after the last reset", n)
	}

	h.tenant.Login(u.ID, time.Now().Add(-time.Minute))
	second := h.sweep(h.sweeper(nil))
	if len(second.Queued) != 1 || second.Queued[0].WebhookID == first.Queued[0].WebhookID {
		t.Fatalf("second sweep queued %v; want a new job beside %s", second.Queued, first.Queued[0].WebhookID)
	}
	h.start(h.worker())
	h.waitStatus(u.ID, store.StatusVerified)
}

// Two runs over overlapping ranges find the same login before any worker took it: the
// second queues nothing.
func TestSweepQueuesAFindOnceAcrossRuns(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	h.resetAndLogIn(h.provisionMarked("twice").ID)
	first := h.sweep(h.sweeper(nil))
	second := h.sweep(h.sweeper(nil))
	if first.Run == second.Run || len(first.Queued) != 1 {
		t.Fatalf("runs %s and %s, first queued %v; want two runs, the first queuing the login", first.Run, second.Run, first.Queued)
	}
	if len(second.Queued) != 0 || second.Results[SweepAlreadyQueued] != 1 {
		t.Fatalf("second run %+v; want the login already queued", second)
	}
}

// What the sweep does with a find by the state of its record: an expired one is
// counted and left; one a webhook job is verifying still gets the find queued, since
// that job may end without a flip (the receiver does the same); none, nothing.
func TestSweepJudgesEachRecordState(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	expired := h.provisionMarked("expired")
	rec := h.record(expired.ID)
	rec.ExpiresAt = time.Now().Add(-time.Minute)
	if err := h.rdb.PutPending(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if got := h.record(expired.ID); got.Status != store.StatusExpired {
		t.Fatalf("record %+v; want it expired", got)
	}
	verifying := h.provisionMarked("verifying")
	if _, ok, err := h.rdb.Claim(t.Context(), verifying.ID, "msg_webhook"); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	removed := h.provisionMarked("removed")
	if _, err := h.rdb.DeletePending(t.Context(), removed.ID); err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth0test.User{expired, verifying, removed} {
		h.resetAndLogIn(u.ID)
	}

	rep := h.sweep(h.sweeper(nil))
	want := map[string]int{SweepExpired: 1, SweepQueued: 1, OutcomeNotPending: 1}
	if !maps.Equal(rep.Results, want) || rep.Found != 3 || rep.Checked != 2 {
		t.Fatalf("sweep found %d, checked %d: %v; want 3, 2: %v", rep.Found, rep.Checked, rep.Results, want)
	}
	if len(rep.Queued) != 1 || rep.Queued[0].UserID != verifying.ID {
		t.Fatalf("queued %v; want the verifying user's find", rep.Queued)
	}
}

// Serve's loop resumes a run an earlier replica left open at once, without waiting for
// the interval since the last success.
func TestRunSweepsResumesAnOpenRun(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	h.sweep(h.sweeper(nil)) // a success just now
	for _, n := range []string{"one", "two"} {
		h.resetAndLogIn(h.provisionMarked(n).ID)
	}
	open, err := h.sweeper(func(c *SweepConfig) { c.Limit = 1 }).Sweep(t.Context())
	if err != nil || open.Complete {
		t.Fatalf("limited sweep %+v, %v; want the run left open", open, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.sweeper(nil).RunSweeps(ctx, time.Hour)
	}()
	t.Cleanup(func() { cancel(); <-done })
	h.waitFor("the open run to be finished", func() (bool, string) {
		st, err := h.rdb.ReadSweep(t.Context())
		return err == nil && st.Run == "" && st.LastRun == open.Run, fmt.Sprintf("%+v %v", st, err)
	})
}

// A dry run takes no lock: it runs while another replica sweeps, and leaves that
// replica's lock alone.
func TestSweepDryRunBesideASweepingReplica(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	h.resetAndLogIn(h.provisionMarked("dry").ID)
	if ok, err := h.rdb.AcquireSweep(t.Context(), "another-replica", time.Minute); !ok || err != nil {
		t.Fatalf("take the lock: %v, %v", ok, err)
	}
	rep := h.sweep(h.sweeper(func(c *SweepConfig) { c.DryRun = true }))
	if rep.Results[SweepWouldCheck] != 1 {
		t.Fatalf("dry run %+v; want one would_check", rep)
	}
	if err := h.rdb.RenewSweep(t.Context(), "another-replica", time.Minute); err != nil {
		t.Fatalf("the sweeping replica after the dry run: %v; want it still holding the lock", err)
	}
}
