package proof

import (
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
	cfg := DefaultSweepConfig()
	cfg.Lease = 3 * time.Second
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
}
