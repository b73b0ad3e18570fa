package proof

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// provisioner is the harness's Provisioner: the real client, the real store, the
// shared budgets.
func (h *harness) provisioner() *Provisioner {
	return &Provisioner{
		Users:      h.a0,
		Store:      h.rdb,
		Budget:     store.NewLimiter(h.rdb, 1000),
		AuthBudget: store.NewAuthLimiter(h.rdb, 1000, 10),
		Log:        h.log,
	}
}

// createdAndRegistered leaves what a run that died after writing the record leaves: the
// marked user and its pending record. It returns the user id.
func (h *harness) createdAndRegistered(email string) string {
	h.t.Helper()
	u, err := h.a0.CreateUser(h.t.Context(), auth0client.CreateUser{Email: email, Connection: DefaultConnection})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.rdb.PutPending(h.t.Context(), store.Record{UserID: u.ID, Email: u.Email, Connection: DefaultConnection}); err != nil {
		h.t.Fatal(err)
	}
	return u.ID
}

// creates counts the user creations the tenant answered with 201.
func (h *harness) creates() int {
	n := 0
	for _, c := range h.tenant.Calls() {
		if c.Method == http.MethodPost && c.Path == "/api/v2/users" && c.Status == http.StatusCreated {
			n++
		}
	}
	return n
}

func TestProvisionCreatesRegistersAndSends(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	p := h.provisioner()
	email := h.noteEmail("grace@example.com")

	res, err := p.Provision(t.Context(), ProvisionRequest{Email: " Grace@Example.com", Name: "Grace Hopper", By: store.AuditByCLI})
	if err != nil || res.Status != ProvisionCreated {
		t.Fatalf("provision: %+v, %v; want created", res, err)
	}
	u, ok := h.tenant.User(res.Record.UserID)
	if !ok || u.Email != email || u.EmailVerified || u.Connection != DefaultConnection || u.AppMetadata[auth0client.ProvisionMarker] == nil {
		t.Errorf("tenant user %+v: want %s unverified on %s with the marker", u, email, DefaultConnection)
	}
	rec := res.Record
	if rec.Status != store.StatusPending || rec.Email != email || rec.Deliveries != 1 || rec.Delivery != DeliveryResetEmail || !rec.DeliveringAt.IsZero() {
		t.Errorf("record %+v: want pending, one reset email recorded", rec)
	}
	mail, ok := h.tenant.LastEmailTo(email)
	if !ok || h.tenant.SentTo(email) != 1 || mail.UserID != rec.UserID {
		t.Fatalf("outbox: %d emails to the address, last %+v; want one for %s", h.tenant.SentTo(email), mail, rec.UserID)
	}
	// The provisioning time is before the email: the reset it leads to passes the policy.
	if !rec.ProvisionedAt.Before(mail.At) && !rec.ProvisionedAt.Equal(mail.At) {
		t.Errorf("provisioned at %v, email at %v: the record must come first", rec.ProvisionedAt, mail.At)
	}
	if got := h.outcomes(rec.UserID); !slices.Equal(got, []string{store.AuditProvisioned, store.AuditDelivered}) {
		t.Errorf("audit %q, want provisioned then delivered", got)
	}

	// The same request again changes nothing: no second user, no second email.
	again, err := p.Provision(t.Context(), ProvisionRequest{Email: email, By: store.AuditByCLI})
	if err != nil || again.Status != ProvisionDone || again.Record.UserID != rec.UserID {
		t.Errorf("second run: %+v, %v; want unchanged for the same user", again, err)
	}
	if h.creates() != 1 || h.tenant.SentTo(email) != 1 {
		t.Errorf("%d creates and %d emails after two runs, want 1 and 1", h.creates(), h.tenant.SentTo(email))
	}
}

// TestProvisionRepairsEachCrash runs the request again after a crash between every two
// steps and counts what Auth0 did: nothing twice.
func TestProvisionRepairsEachCrash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		crash  func(h *harness, email string) // leaves the state a crash would
		want   string
		emails int // after the repeated run
	}{
		{name: "after the create, before the record", want: ProvisionResumed, emails: 1,
			crash: func(h *harness, email string) {
				if _, err := h.a0.CreateUser(h.t.Context(), auth0client.CreateUser{Email: email, Connection: DefaultConnection}); err != nil {
					h.t.Fatal(err)
				}
			}},
		{name: "after the record, before the email", want: ProvisionResumed, emails: 1,
			crash: func(h *harness, email string) { h.createdAndRegistered(email) }},
		{name: "mid-send: nobody knows whether the email left", want: ProvisionUncertain, emails: 0,
			crash: func(h *harness, email string) {
				if _, err := h.rdb.StartDelivery(h.t.Context(), h.createdAndRegistered(email), DeliveryResetEmail); err != nil {
					h.t.Fatal(err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, auth0test.Config{})
			email := h.noteEmail("ada@example.com")
			tc.crash(h, email)
			res, err := h.provisioner().Provision(t.Context(), ProvisionRequest{Email: email, By: store.AuditByCLI})
			if err != nil || res.Status != tc.want {
				t.Fatalf("repeated run: %+v, %v; want %s", res, err, tc.want)
			}
			if n := len(h.tenant.UsersByEmail(email)); n != 1 || h.creates() != 1 {
				t.Errorf("%d users with the address, %d creates; want 1 and 1", n, h.creates())
			}
			if n := h.tenant.SentTo(email); n != tc.emails {
				t.Errorf("%d emails, want %d", n, tc.emails)
			}
			if tc.want == ProvisionUncertain {
				// The operator decides: a resend sends it.
				if _, err := h.provisioner().Resend(t.Context(), res.Record.UserID, ProvisionRequest{By: store.AuditByCLI}); err != nil || h.tenant.SentTo(email) != 1 {
					t.Errorf("resend: %v, %d emails; want one", err, h.tenant.SentTo(email))
				}
			}
		})
	}
}

func TestProvisionRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	p := h.provisioner()
	stranger := h.tenant.AddUser(auth0test.UserSeed{Email: h.noteEmail("olga@example.com"), Connection: DefaultConnection})
	verified := h.tenant.AddUser(auth0test.UserSeed{Email: h.noteEmail("vera@example.com"), Connection: DefaultConnection, EmailVerified: true})

	_, err := p.Provision(t.Context(), ProvisionRequest{Email: "not an address"})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("invalid address: %v, want ErrInvalidRequest", err)
	}
	_, err = p.Provision(t.Context(), ProvisionRequest{Email: "x@example.com", Delivery: "carrier-pigeon"})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("unknown delivery: %v, want ErrInvalidRequest", err)
	}
	_, err = p.Provision(t.Context(), ProvisionRequest{Email: h.noteEmail("x@example.com"), Connection: "No-Such-Connection"})
	if !errors.Is(err, auth0client.ErrPermanent) {
		t.Errorf("unknown connection: %v, want Auth0's refusal", err)
	}
	var exists *UserExistsError
	_, err = p.Provision(t.Context(), ProvisionRequest{Email: stranger.Email})
	if !errors.As(err, &exists) || exists.UserID != stranger.ID || !errors.Is(err, ErrUserExists) {
		t.Errorf("a user mailproof did not create: %v, want user_exists naming %s", err, stranger.ID)
	}
	if h.tenant.SentTo(stranger.Email) != 0 {
		t.Errorf("an existing user was emailed without --adopt")
	}
	res, err := p.Provision(t.Context(), ProvisionRequest{Email: stranger.Email, Adopt: true, By: store.AuditByCLI})
	if err != nil || res.Status != ProvisionAdopted || h.tenant.SentTo(stranger.Email) != 1 {
		t.Errorf("adopt: %+v, %v, %d emails; want adopted and one email", res, err, h.tenant.SentTo(stranger.Email))
	}
	if got := h.outcomes(stranger.ID); !slices.Equal(got, []string{store.AuditAdopted, store.AuditDelivered}) {
		t.Errorf("audit %q, want adopted then delivered", got)
	}
	if _, err := p.Provision(t.Context(), ProvisionRequest{Email: verified.Email, Adopt: true}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("adopting a verified user: %v, want a refusal", err)
	}
	if n := len(h.tenant.UsersByEmail("x@example.com")); n != 0 {
		t.Errorf("refused requests created %d users", n)
	}
}

func TestProvisionDeliveryFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	p := h.provisioner()
	email := h.noteEmail("kate@example.com")

	// Auth0 refuses the reset email: user and record kept, the failure reported, and the
	// same request (or a resend) finishes the job.
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPost, PathPrefix: "/dbconnections/change_password", Status: http.StatusBadRequest, Times: 1})
	_, err := p.Provision(t.Context(), ProvisionRequest{Email: email})
	if err == nil {
		t.Fatal("provision with the reset email refused: nil error")
	}
	rec, ferr := h.rdb.FindByEmail(t.Context(), email)
	if ferr != nil || rec.Deliveries != 0 || !rec.DeliveringAt.IsZero() {
		t.Fatalf("record after a refused email: %+v, %v; want registered, not delivered, no mark", rec, ferr)
	}
	res, err := p.Provision(t.Context(), ProvisionRequest{Email: email})
	if err != nil || res.Status != ProvisionResumed || h.tenant.SentTo(email) != 1 {
		t.Errorf("repeated run: %+v, %v, %d emails; want resumed with one email", res, err, h.tenant.SentTo(email))
	}

	// A ticket instead: its URL comes back, and the record says so.
	other := h.noteEmail("tom@example.com")
	res, err = p.Provision(t.Context(), ProvisionRequest{Email: other, Delivery: DeliveryTicket, ResultURL: "https://app.example.com/welcome"})
	if err != nil || res.TicketURL == "" || res.Record.Delivery != DeliveryTicket || h.tenant.SentTo(other) != 0 {
		t.Errorf("ticket: %+v, %v; want a ticket URL, delivery ticket, no email", res, err)
	}

	// A resend refuses users that are not pending.
	if _, err := p.Resend(t.Context(), "auth0|000000000000000000000000", ProvisionRequest{}); !errors.Is(err, ErrNotPending) {
		t.Errorf("resend to nobody: %v, want ErrNotPending", err)
	}
}

// TestProvisionRedisDownAndRateLimited: with Redis down nothing is asked of Auth0; a 429
// is reported and shared as a pause; either way the same request later does the job once.
func TestProvisionRedisDownAndRateLimited(t *testing.T) {
	t.Parallel()
	srv := redistest.Dedicated(t)
	h := newHarnessAt(t, srv.URL(), nil, auth0test.Config{})
	p := h.provisioner()
	email := h.noteEmail("rita@example.com")

	srv.Stop()
	if _, err := p.Provision(t.Context(), ProvisionRequest{Email: email}); err == nil {
		t.Fatal("provision with Redis down: nil error")
	}
	if n := h.tenant.CountCalls("", "/api/v2/"); n != 0 {
		t.Errorf("%d Management API calls with Redis down, want none: nothing may be created unrecorded", n)
	}
	srv.Start()

	h.tenant.Inject(auth0test.Fault{Method: http.MethodPost, PathPrefix: "/api/v2/users", Status: http.StatusTooManyRequests, Times: 1})
	_, err := p.Provision(t.Context(), ProvisionRequest{Email: email})
	if !errors.Is(err, auth0client.ErrRateLimited) {
		t.Errorf("provision answered 429: %v, want ErrRateLimited", err)
	}
	h.waitFor("the 429's pause to pass", func() (bool, string) {
		res, err := p.Provision(t.Context(), ProvisionRequest{Email: email})
		return err == nil && res.Status == ProvisionCreated, fmt.Sprint(res.Status, err)
	})
	if h.creates() != 1 || h.tenant.SentTo(email) != 1 {
		t.Errorf("%d creates and %d emails, want 1 and 1", h.creates(), h.tenant.SentTo(email))
	}
}

// TestProvisionIndexMissNeverRemails: when mailproof's own index cannot find the user
// (an address Auth0 lower-cases beyond ASCII, a record gone with the retention), the
// marked user Auth0 returns is recognised, and nobody is mailed again or re-registered
// after proving their mailbox.
func TestProvisionIndexMissNeverRemails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	p := h.provisioner()
	res, err := p.Provision(t.Context(), ProvisionRequest{Email: h.noteEmail("élodie@example.com")})
	if err != nil || res.Status != ProvisionCreated {
		t.Fatalf("provision: %+v, %v", res, err)
	}
	again, err := p.Provision(t.Context(), ProvisionRequest{Email: h.noteEmail("ÉLODIE@example.com")})
	if err != nil || again.Status != ProvisionDone || h.tenant.SentTo("élodie@example.com") != 1 {
		t.Errorf("the same person in capitals: %+v, %v, %d emails; want unchanged and one email", again, err, h.tenant.SentTo("élodie@example.com"))
	}
	// The record is gone (retention) and the person verified meanwhile.
	if _, err := h.rdb.DeletePending(t.Context(), res.Record.UserID); err != nil {
		t.Fatal(err)
	}
	h.tenant.ChangeEmail(res.Record.UserID, "élodie@example.com", true)
	later, err := p.Provision(t.Context(), ProvisionRequest{Email: "élodie@example.com"})
	if err != nil || later.Status != ProvisionDone || h.tenant.SentTo("élodie@example.com") != 1 {
		t.Errorf("after the retention, verified: %+v, %v, %d emails; want unchanged and still one email", later, err, h.tenant.SentTo("élodie@example.com"))
	}
	if _, err := h.rdb.Get(t.Context(), res.Record.UserID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a verified user was registered again: %v", err)
	}
}

// TestProvisionUnansweredEmailIsNotResent: a reset email whose request got no answer
// may have gone out: the result says so, the mark stays, and the same request again
// sends nothing until an operator resends.
func TestProvisionUnansweredEmailIsNotResent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	p := h.provisioner()
	email := h.noteEmail("una@example.com")
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPost, PathPrefix: "/dbconnections/change_password", Drop: true, Times: 1})
	res, err := p.Provision(t.Context(), ProvisionRequest{Email: email})
	stored, gerr := h.rdb.Get(t.Context(), res.Record.UserID)
	if err == nil || res.Status != ProvisionUncertain || gerr != nil || stored.DeliveringAt.IsZero() {
		t.Fatalf("dropped reset email: %+v, %v, stored %+v; want delivery_uncertain with the mark kept", res, err, stored)
	}
	again, err := p.Provision(t.Context(), ProvisionRequest{Email: email})
	if err != nil || again.Status != ProvisionUncertain || h.tenant.SentTo(email) != 0 {
		t.Errorf("the same request again: %+v, %v, %d emails; want delivery_uncertain and nothing sent", again, err, h.tenant.SentTo(email))
	}
}
