package proof

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// provisionMarked is provision with the marker provisioning sets in app_metadata, which
// is how the sweep finds the users mailproof provisioned.
func (h *harness) provisionMarked(name string) auth0test.User {
	h.t.Helper()
	email := h.noteEmail(name + "@example.com")
	provisioned := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	u := h.tenant.AddUser(auth0test.UserSeed{Email: email, Connection: auth0test.DefaultConnection, CreatedAt: provisioned,
		AppMetadata: map[string]any{auth0client.ProvisionMarker: map[string]any{"provisioned_at": provisioned.Format(time.RFC3339Nano)}}})
	if err := h.rdb.PutPending(h.t.Context(), store.Record{
		UserID: u.ID, Email: email, Connection: auth0test.DefaultConnection, ProvisionedAt: provisioned,
	}); err != nil {
		h.t.Fatalf("put pending: %v", err)
	}
	return u
}

// resetAndLogIn is the person's part: the reset link followed, then a login whose
// webhook never reached mailproof.
func (h *harness) resetAndLogIn(id string) {
	h.t.Helper()
	if !h.tenant.ResetPassword(id, time.Now().Add(-10*time.Minute)) {
		h.t.Fatalf("reset %s: no such user", id)
	}
	if _, ok := h.tenant.Login(id, time.Now().Add(-5*time.Minute)); !ok {
		h.t.Fatalf("log in %s: no such user", id)
	}
}

func (h *harness) sweeper(change func(*SweepConfig)) *Sweeper {
	// A run covers what changed before the millisecond it starts in; what changes in
	// that millisecond is the next run's. The tests' changes come just before.
	time.Sleep(2 * time.Millisecond)
	cfg := DefaultSweepConfig()
	cfg.Lease = 3 * time.Second
	cfg.RetryWait = 10 * time.Millisecond
	if change != nil {
		change(&cfg)
	}
	return &Sweeper{Store: h.rdb, Users: h.a0, Budget: store.NewLimiter(h.rdb, h.cfg.Rate), Log: h.log, Config: cfg}
}

func TestSweepFlipsALoginWhoseWebhookWasLost(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	lost := h.provisionMarked("lost")
	h.resetAndLogIn(lost.ID)
	waiting := h.provisionMarked("waiting")

	rep, err := h.sweeper(nil).Sweep(t.Context())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if rep.Path != PathSearch || !rep.Complete || len(rep.Queued) != 1 || rep.Queued[0].UserID != lost.ID {
		t.Fatalf("sweep report %+v; want one job queued for %s on the search path", rep, lost.ID)
	}
	h.start(h.worker())
	h.waitStatus(lost.ID, store.StatusVerified)
	if u, _ := h.tenant.User(lost.ID); !u.EmailVerified {
		t.Fatalf("Auth0 still has email_verified false")
	}
	if rec := h.record(waiting.ID); rec.Status != store.StatusPending {
		t.Fatalf("the user who never logged in is %s; want pending", rec.Status)
	}
	tr := h.trail(lost.ID)
	if last := tr[len(tr)-1]; last.Outcome != OutcomeVerified || last.Source() != store.SourceSweep {
		t.Fatalf("last audit entry %+v (source %s); want verified from the sweep", last, last.Source())
	}
	// The job's read and PATCH are added to its run's tally, for the summary.
	if n, err := h.rdb.SweepCalls(t.Context(), rep.Run); n != 2 || err != nil {
		t.Fatalf("run %s's jobs made %d calls (%v); want 2, the read and the PATCH", rep.Run, n, err)
	}
}

// sweep runs one sweep that must complete.
func (h *harness) sweep(s *Sweeper) SweepReport {
	h.t.Helper()
	rep, err := s.Sweep(h.t.Context())
	if err != nil {
		h.t.Fatalf("sweep: %v", err)
	}
	if !rep.Complete {
		h.t.Fatalf("sweep stopped early: %+v", rep)
	}
	return rep
}

// Both at once: the receiver took the login in and the sweep found it too. One PATCH.
func TestSweepAndWebhookForOneLoginFlipOnce(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provisionMarked("both")
	h.resetAndLogIn(u.ID)
	u, _ = h.tenant.User(u.ID)
	webhookID := h.enqueue(h.loginEvent(u))
	rep := h.sweep(h.sweeper(nil))
	if len(rep.Queued) != 1 {
		t.Fatalf("sweep queued %d jobs; want 1 beside the webhook's", len(rep.Queued))
	}
	h.start(h.worker())
	h.waitStatus(u.ID, store.StatusVerified)
	// Not queueEmpty: while the worker runs, its inspection takes the job that lost the
	// claim (deferred, user_busy) away from the worker, and it is never finished.
	jobs := append(rep.Queued, store.QueuedJob{UserID: u.ID, WebhookID: webhookID})
	h.waitFor("both jobs to finish", func() (bool, string) {
		done, err := h.rdb.JobOutcomes(t.Context(), jobs)
		return err == nil && len(done) == 2, fmt.Sprint(done, err)
	})
	if n := h.apiCalls("PATCH", 0); n != 1 {
		t.Fatalf("%d PATCHes; want exactly 1", n)
	}
	got := h.outcomes(u.ID)
	if !slices.Contains(got, OutcomeVerified) || !slices.Contains(got, OutcomeNotPending) {
		t.Fatalf("outcomes %v; want one verified and one not_pending", got)
	}
	// A second sweep over the same range finds the same login and queues nothing.
	if rep := h.sweep(h.sweeper(nil)); len(rep.Queued) != 0 || rep.Results[OutcomeNotPending] != 1 {
		t.Fatalf("second sweep %+v; want the verified user skipped", rep)
	}
}

// offsetClock is a tenant clock the test can move forward.
type offsetClock struct{ d atomic.Int64 }

func (c *offsetClock) now() time.Time           { return time.Now().Add(time.Duration(c.d.Load())) }
func (c *offsetClock) advance(by time.Duration) { c.d.Add(int64(by)) }

// The search index lags: it still shows the address the user had when they logged in,
// though they have changed it since. The fresh read before the PATCH catches it.
func TestSweepSearchLagCaughtByTheFreshRead(t *testing.T) {
	var clk offsetClock
	h := newHarness(t, nil, auth0test.Config{SearchLag: time.Minute, Now: clk.now})
	u := h.provisionMarked("lagged")
	h.resetAndLogIn(u.ID)
	clk.advance(2 * time.Minute) // the login reaches the index
	h.tenant.ChangeEmail(u.ID, h.noteEmail("elsewhere@example.com"), false)

	rep := h.sweep(h.sweeper(nil))
	if len(rep.Queued) != 1 {
		t.Fatalf("sweep %+v; want the lagging index's login queued", rep)
	}
	h.start(h.worker())
	rec := h.waitStatus(u.ID, store.StatusClosed)
	if rec.Outcome != OutcomeChangedSinceEvent {
		t.Fatalf("outcome %s; want %s", rec.Outcome, OutcomeChangedSinceEvent)
	}
	if n := h.apiCalls("PATCH", 0); n != 0 {
		t.Fatalf("%d PATCHes; want none", n)
	}
}

// A user deleted in Auth0 after logging in: the lagging index still finds them, the
// fresh read does not, and the record closes.
func TestSweepUserDeletedInAuth0(t *testing.T) {
	var clk offsetClock
	h := newHarness(t, nil, auth0test.Config{SearchLag: time.Minute, Now: clk.now})
	u := h.provisionMarked("deleted")
	h.resetAndLogIn(u.ID)
	clk.advance(2 * time.Minute)
	h.deleteUser(u.ID)

	if rep := h.sweep(h.sweeper(nil)); len(rep.Queued) != 1 {
		t.Fatalf("sweep %+v; want the deleted user's login queued", rep)
	}
	h.start(h.worker())
	if rec := h.waitStatus(u.ID, store.StatusClosed); rec.Outcome != OutcomeUserNotFound {
		t.Fatalf("outcome %s; want %s", rec.Outcome, OutcomeUserNotFound)
	}
}

// What the sweep closes or leaves waiting on the data it found, without a flip.
func TestSweepOutcomesOnWhatItFinds(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	verified := h.provisionMarked("verified")
	h.tenant.ChangeEmail(verified.ID, verified.Email, true)
	changed := h.provisionMarked("changed")
	h.tenant.ChangeEmail(changed.ID, h.noteEmail("changed-now@example.com"), false)
	waiting := h.provisionMarked("waiting")
	resetOnly := h.provisionMarked("resetonly")
	h.tenant.ResetPassword(resetOnly.ID, time.Now().Add(-time.Minute))
	unmarked := h.provision("unmarked") // registered without the marker: not found
	h.resetAndLogIn(unmarked.ID)

	rep := h.sweep(h.sweeper(nil))
	if rep.Results[OutcomeNoPasswordReset] != 1 || rep.Results[OutcomeNoLoginSinceReset] != 1 || len(rep.Queued) != 2 {
		t.Fatalf("sweep %+v; want one no_password_reset, one no_login_since_reset, two jobs queued", rep)
	}
	h.start(h.worker())
	for id, want := range map[string]string{verified.ID: OutcomeAlreadyVerified, changed.ID: OutcomeEmailChanged} {
		if rec := h.waitStatus(id, store.StatusClosed); rec.Outcome != want {
			t.Errorf("%s closed %s; want %s", id, rec.Outcome, want)
		}
	}
	for _, id := range []string{waiting.ID, resetOnly.ID, unmarked.ID} {
		if rec := h.record(id); rec.Status != store.StatusPending {
			t.Errorf("%s is %s; want still pending", id, rec.Status)
		}
	}
	if n := h.apiCalls("", 0); n != 0 {
		t.Errorf("%d calls on users; closing on the found data needs none", n)
	}
}

// A dry run judges what it finds and changes nothing: no job, no cursor, no lock.
func TestSweepDryRunChangesNothing(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provisionMarked("dry")
	h.resetAndLogIn(u.ID)
	before, _ := h.rdb.ReadSweep(t.Context())
	rep := h.sweep(h.sweeper(func(c *SweepConfig) { c.DryRun = true }))
	if rep.Results[SweepWouldCheck] != 1 || len(rep.Queued) != 0 {
		t.Fatalf("dry run %+v; want one would_check and nothing queued", rep)
	}
	if after, _ := h.rdb.ReadSweep(t.Context()); after != before {
		t.Fatalf("dry run moved the cursor: %+v → %+v", before, after)
	}
	if ok, _ := h.queueEmpty(); !ok {
		t.Fatalf("dry run queued a job")
	}
	if rec := h.record(u.ID); rec.Status != store.StatusPending {
		t.Fatalf("record %s; want pending", rec.Status)
	}
}

// --limit stops a run early, on either path; the next run resumes it and queues the
// rest: the cursor never passes a find the limit left unqueued.
func TestSweepLimitLeavesTheRunOpen(t *testing.T) {
	for _, path := range []string{PathSearch, PathExport} {
		h := newHarness(t, nil, auth0test.Config{})
		for _, n := range []string{"one", "two", "three"} {
			h.resetAndLogIn(h.provisionMarked(n).ID)
		}
		cfg := func(c *SweepConfig) {
			if path == PathExport {
				c.ExportAbove = 1
			}
		}
		rep, err := h.sweeper(func(c *SweepConfig) { cfg(c); c.Limit = 2 }).Sweep(t.Context())
		if err != nil || rep.Path != path || rep.Complete || len(rep.Queued) != 2 {
			t.Fatalf("%s: limited sweep %+v, %v; want 2 queued and the run left open", path, rep, err)
		}
		rest := h.sweep(h.sweeper(cfg))
		if !rest.Resumed || rest.Run != rep.Run || len(rest.Queued) != 1 || rest.Results[SweepAlreadyQueued] != 2 {
			t.Fatalf("%s: next sweep %+v; want run %s resumed, the third queued, two already queued", path, rest, rep.Run)
		}
		if st, _ := h.rdb.ReadSweep(t.Context()); st.Run != "" || st.LastRun != rep.Run || !st.LastTo.Equal(rep.To) {
			t.Fatalf("%s: state after the run %+v; want it closed as the last run", path, st)
		}
	}
}

// Auth0 failing or rate limiting mid-sweep: the sweep waits and tries again, and when
// it gives up the next run resumes.
func TestSweepThroughRateLimitsAndErrors(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provisionMarked("flaky")
	h.resetAndLogIn(u.ID)
	h.tenant.Inject(auth0test.Fault{Method: "GET", PathPrefix: "/api/v2/users", Status: 429, Times: 1})
	h.tenant.Inject(auth0test.Fault{Method: "GET", PathPrefix: "/api/v2/users", Status: 503, Times: 1})
	rep := h.sweep(h.sweeper(nil))
	if len(rep.Queued) != 1 || rep.Calls[PathSearch] != 3 {
		t.Fatalf("sweep %+v; want the login queued after 3 search calls", rep)
	}

	h.tenant.Inject(auth0test.Fault{Method: "GET", PathPrefix: "/api/v2/users", Status: 500, Times: 5})
	failed, err := h.sweeper(nil).Sweep(t.Context())
	if err == nil || failed.Complete {
		t.Fatalf("sweep through 5 errors: %+v, %v; want it to fail", failed, err)
	}
	if st, _ := h.rdb.ReadSweep(t.Context()); st.Run != failed.Run {
		t.Fatalf("state %+v; want run %s left open", st, failed.Run)
	}
	if again := h.sweep(h.sweeper(nil)); !again.Resumed || again.Run != failed.Run {
		t.Fatalf("next sweep %+v; want it to resume %s", again, failed.Run)
	}
}

// gatedBudget holds the sweep's first call until the test opens the gate.
type gatedBudget struct {
	SweepBudget
	gate chan struct{}
	once sync.Once
	hit  chan struct{}
}

func (b *gatedBudget) WaitLowest(ctx context.Context) error {
	b.once.Do(func() {
		close(b.hit)
		<-b.gate
	})
	return b.SweepBudget.WaitLowest(ctx)
}

// Two replicas at once: one sweeps, the other is told so and changes nothing.
func TestSweepOneReplicaAtATime(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provisionMarked("shared")
	h.resetAndLogIn(u.ID)
	first := h.sweeper(nil)
	gb := &gatedBudget{SweepBudget: first.Budget, gate: make(chan struct{}), hit: make(chan struct{})}
	first.Budget = gb
	done := make(chan SweepReport, 1)
	go func() {
		rep, err := first.Sweep(context.Background())
		if err != nil {
			t.Errorf("first sweep: %v", err)
		}
		done <- rep
	}()
	<-gb.hit
	if _, err := h.sweeper(nil).Sweep(t.Context()); !errors.Is(err, ErrSweepBusy) {
		t.Fatalf("second replica: %v; want ErrSweepBusy", err)
	}
	time.Sleep(first.Config.Lease) // the lease is renewed while the first one waits
	if _, err := h.sweeper(nil).Sweep(t.Context()); !errors.Is(err, ErrSweepBusy) {
		t.Fatalf("second replica after a lease: %v; want ErrSweepBusy", err)
	}
	close(gb.gate)
	if rep := <-done; len(rep.Queued) != 1 {
		t.Fatalf("first sweep %+v; want the login queued", rep)
	}
}

// The export path and the search path judge the same tenant the same way.
func TestSweepExportAndSearchAgree(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	h.resetAndLogIn(h.provisionMarked("lost").ID)
	verified := h.provisionMarked("verified")
	h.tenant.ChangeEmail(verified.ID, verified.Email, true)
	changed := h.provisionMarked("changed")
	h.tenant.ChangeEmail(changed.ID, h.noteEmail("changed-now@example.com"), false)
	h.provisionMarked("waiting")
	h.tenant.ResetPassword(h.provisionMarked("resetonly").ID, time.Now().Add(-time.Minute))
	h.resetAndLogIn(h.provision("unmarked").ID)
	h.tenant.AddUser(auth0test.UserSeed{Email: h.noteEmail("stranger@example.com"), Connection: auth0test.DefaultConnection})

	search := h.sweep(h.sweeper(func(c *SweepConfig) { c.DryRun = true }))
	export := h.sweep(h.sweeper(func(c *SweepConfig) { c.DryRun = true; c.ExportAbove = 1 }))
	if search.Path != PathSearch || export.Path != PathExport {
		t.Fatalf("paths %s and %s; want search and export", search.Path, export.Path)
	}
	if !maps.Equal(search.Results, export.Results) || search.Found != export.Found || search.Checked != export.Checked {
		t.Fatalf("search found %d, checked %d: %v\nexport found %d, checked %d: %v", search.Found, search.Checked, search.Results,
			export.Found, export.Checked, export.Results)
	}
	want := map[string]int{SweepWouldCheck: 1, OutcomeAlreadyVerified: 1, OutcomeEmailChanged: 1, OutcomeNoPasswordReset: 1, OutcomeNoLoginSinceReset: 1}
	if !maps.Equal(search.Results, want) {
		t.Fatalf("results %v; want %v", search.Results, want)
	}
	if export.Calls[PathExport] != 1 || export.Calls[PathSearch] != 0 {
		t.Fatalf("export path calls %v; want one export job and no search", export.Calls)
	}
}

// dyingStore is a replica's store that dies at its second batch of users: from then on
// nothing it does reaches Redis, and it hangs until its lease is lost.
type dyingStore struct {
	*store.Redis
	batches atomic.Int32
	dead    atomic.Bool
}

var errKilled = errors.New("replica killed")

func (d *dyingStore) GetMany(ctx context.Context, users []string) ([]store.Record, []error) {
	if d.batches.Add(1) == 2 {
		d.dead.Store(true)
		select {
		case <-ctx.Done():
		case <-time.After(waitCeiling): // the lease was never lost: fail, do not hang
		}
	}
	if d.dead.Load() {
		errs := make([]error, len(users))
		for i := range errs {
			errs[i] = errKilled
		}
		return make([]store.Record, len(users)), errs
	}
	return d.Redis.GetMany(ctx, users)
}

func (d *dyingStore) RenewSweep(ctx context.Context, owner string, lease time.Duration) error {
	if d.dead.Load() {
		return errKilled
	}
	return d.Redis.RenewSweep(ctx, owner, lease)
}

func (d *dyingStore) ReleaseSweep(ctx context.Context, owner string) error {
	if d.dead.Load() {
		return errKilled
	}
	return d.Redis.ReleaseSweep(ctx, owner)
}

func (d *dyingStore) SaveSweep(ctx context.Context, owner string, s store.SweepState) error {
	if d.dead.Load() {
		return errKilled
	}
	return d.Redis.SaveSweep(ctx, owner, s)
}

// The sweeping replica dies mid-export: its lease runs out, another replica takes the
// lock and carries on from the line the cursor names, with the same export job.
func TestSweepKilledReplicaResumesFromTheCursor(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	const users = 250
	for i := range users - 1 {
		h.provisionMarked(fmt.Sprintf("quiet%d", i))
	}
	lost := h.provisionMarked("lost")
	h.resetAndLogIn(lost.ID)
	cfg := func(c *SweepConfig) { c.ExportAbove = 1; c.Lease = 1500 * time.Millisecond }

	dying := h.sweeper(cfg)
	dying.Store = &dyingStore{Redis: h.rdb}
	dead, err := dying.Sweep(t.Context())
	if !errors.Is(err, store.ErrSweepLost) {
		t.Fatalf("the dying replica's sweep: %v; want it to lose the lock", err)
	}
	st, _ := h.rdb.ReadSweep(t.Context())
	if st.Run != dead.Run || st.ExportJob == "" || st.Line != sweepBatch {
		t.Fatalf("cursor %+v; want run %s at line %d of its export", st, dead.Run, sweepBatch)
	}

	var rep SweepReport
	h.waitFor("another replica to take the lock", func() (bool, string) {
		rep, err = h.sweeper(cfg).Sweep(t.Context())
		return !errors.Is(err, ErrSweepBusy), fmt.Sprint(err)
	})
	if err != nil {
		t.Fatalf("takeover sweep: %v", err)
	}
	if !rep.Resumed || rep.Run != dead.Run || rep.Calls[PathExport] != 0 || rep.Found != users-sweepBatch {
		t.Fatalf("takeover %+v; want run %s resumed on the same export at line %d", rep, dead.Run, sweepBatch)
	}
	if len(rep.Queued) != 1 || rep.Queued[0].UserID != lost.ID {
		t.Fatalf("takeover queued %v; want the lost login", rep.Queued)
	}
	h.start(h.worker())
	h.waitStatus(lost.ID, store.StatusVerified)
}
