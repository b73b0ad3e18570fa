package proof

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// TestProvisionWithoutCreateUsers: a grant without create:users refuses provisioning with
// an error naming the scope and where to grant it; the rows after the first do not ask
// Auth0 again (one refused call, not one per row), and nothing is registered or sent.
func TestProvisionWithoutCreateUsers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{Scopes: auth0client.ServeScopes})
	p := h.provisioner()

	for i := range 20 {
		email := h.noteEmail(fmt.Sprintf("row%d@example.com", i))
		res, err := p.Provision(t.Context(), ProvisionRequest{Email: email, By: store.AuditByCLI})
		var se *auth0client.ScopeError
		if !errors.As(err, &se) || !slices.Equal(se.Missing, []string{"create:users"}) {
			t.Fatalf("row %d: %+v, %v; want the refusal naming create:users", i, res, err)
		}
		if msg := err.Error(); !strings.Contains(msg, auth0client.GrantScopeHint) || strings.Contains(msg, email) {
			t.Errorf("row %d: error %q, want where to grant the scope and no full address", i, msg)
		}
		if h.tenant.SentTo(email) != 0 {
			t.Errorf("row %d: an email went out", i)
		}
		if _, err := h.rdb.FindByEmail(t.Context(), email); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("row %d: a record was written (%v)", i, err)
		}
	}
	if n := h.tenant.CountCalls(http.MethodPost, "/api/v2/users"); n != 1 {
		t.Errorf("%d create calls for 20 rows, want 1: the refusal is remembered, not asked again per row", n)
	}

	// The grant is fixed; the refusal is remembered scopeRetry at most, then asked again.
	h.tenant.SetScopes(auth0test.MailproofScopes)
	p.refusals.mu.Lock()
	p.refusals.last[callCreateUser] = scopeRefusal{at: time.Now().Add(-scopeRetry), err: p.refusals.last[callCreateUser].err}
	p.refusals.mu.Unlock()
	email := h.noteEmail("after@example.com")
	if res, err := p.Provision(t.Context(), ProvisionRequest{Email: email, By: store.AuditByCLI}); err != nil || res.Status != ProvisionCreated {
		t.Errorf("provision after the grant: %+v, %v; want created (the 403 renewed the token)", res, err)
	}
}

// TestProvisionWithoutTicketScope: without create:user_tickets, the first ticket row is
// created and registered but gets no link; the rows after it are refused before their
// user is created, so nobody else waits for a resend.
func TestProvisionWithoutTicketScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{Scopes: []string{"read:users", "update:users", "create:users"}})
	p := h.provisioner()
	req := func(email string) ProvisionRequest {
		return ProvisionRequest{Email: h.noteEmail(email), Delivery: DeliveryTicket, By: store.AuditByCLI}
	}

	_, err := p.Provision(t.Context(), req("first@example.com"))
	if !errors.Is(err, auth0client.ErrMissingScope) || !strings.Contains(err.Error(), "create:user_tickets") {
		t.Fatalf("first ticket row: %v, want the refusal naming create:user_tickets", err)
	}
	for i := range 5 {
		if _, err := p.Provision(t.Context(), req(fmt.Sprintf("row%d@example.com", i))); !errors.Is(err, auth0client.ErrMissingScope) {
			t.Errorf("row %d: %v, want the remembered refusal", i, err)
		}
	}
	if n := h.creates(); n != 1 {
		t.Errorf("%d users created, want 1: rows after the refusal must not create users they cannot deliver to", n)
	}
	if n := h.tenant.CountCalls(http.MethodPost, "/api/v2/tickets/password-change"); n != 1 {
		t.Errorf("%d ticket calls, want 1", n)
	}
	// A reset email needs no ticket: the same provisioner sends it.
	if res, err := p.Provision(t.Context(), ProvisionRequest{Email: h.noteEmail("mail@example.com"), By: store.AuditByCLI}); err != nil || res.Status != ProvisionCreated {
		t.Errorf("reset-email row: %+v, %v; want created", res, err)
	}
}
