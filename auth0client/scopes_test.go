package auth0client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

// TestRequiredScopesAreTheEmulatorsGrant: the emulator cannot import this package (it
// imports nothing of mailproof), so its default grant is written again; this keeps the
// two the same list, and with it every test of a call mailproof makes runs with exactly
// the grant the README asks for.
func TestRequiredScopesAreTheEmulatorsGrant(t *testing.T) {
	if !slices.Equal(auth0client.RequiredScopes, auth0test.MailproofScopes) {
		t.Errorf("RequiredScopes %v, auth0test.MailproofScopes %v: want the same list", auth0client.RequiredScopes, auth0test.MailproofScopes)
	}
}

// TestMissingScopeErrors: a call whose scope the application lacks fails with
// ErrMissingScope (also ErrUnauthorized and ErrTransient, never ErrPermanent), naming the
// scope to grant and where, and no retry.
func TestMissingScopeErrors(t *testing.T) {
	ctx := context.Background()
	flip := func(c *auth0client.Client, id string) error { _, err := c.VerifyEmail(ctx, id); return err }
	read := func(c *auth0client.Client, id string) error { _, err := c.GetUser(ctx, id); return err }
	create := func(c *auth0client.Client, _ string) error {
		_, err := c.CreateUser(ctx, auth0client.CreateUser{Email: "grace@example.com", Connection: auth0test.DefaultConnection})
		return err
	}
	ticket := func(c *auth0client.Client, id string) error {
		_, err := c.PasswordChangeTicket(ctx, id, "", 0)
		return err
	}
	tests := []struct {
		name         string
		granted      []string
		call         func(*auth0client.Client, string) error
		wantMissing  string
		wantExpected []string
	}{
		{"flip without update:users", []string{"read:users"}, flip, "update:users", []string{"update:users", "update:users_app_metadata"}},
		{"flip with update:users_app_metadata only", []string{"read:users", "update:users_app_metadata"}, flip, "update:users", []string{"update:users"}},
		{"read without read:users", []string{"update:users"}, read, "read:users", []string{"read:users", "read:user_idp_tokens"}},
		{"create without create:users", auth0client.ServeScopes, create, "create:users", []string{"create:users"}},
		{"ticket without create:user_tickets", []string{"read:users", "update:users", "create:users"}, ticket, "create:user_tickets", []string{"create:user_tickets"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := auth0test.NewT(t, auth0test.Config{Scopes: tc.granted})
			c := newClient(t, tn, nil)
			u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})

			err := tc.call(c, u.ID)
			for _, want := range []error{auth0client.ErrMissingScope, auth0client.ErrUnauthorized, auth0client.ErrTransient} {
				if !errors.Is(err, want) {
					t.Errorf("%s: error %v, want it to match %v", tc.name, err, want)
				}
			}
			if errors.Is(err, auth0client.ErrPermanent) {
				t.Errorf("%s: error %v matches ErrPermanent", tc.name, err)
			}
			var se *auth0client.ScopeError
			if !errors.As(err, &se) {
				t.Fatalf("%s: error %v, want a *ScopeError", tc.name, err)
			}
			if !slices.Equal(se.Missing, []string{tc.wantMissing}) || !slices.Equal(se.Expected, tc.wantExpected) {
				t.Errorf("%s: missing %v, expected %v; want [%s], %v", tc.name, se.Missing, se.Expected, tc.wantMissing, tc.wantExpected)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.wantMissing) || !strings.Contains(msg, auth0client.GrantScopeHint) {
				t.Errorf("%s: error %q, want it to name %s and say where to grant it", tc.name, msg, tc.wantMissing)
			}
			if n := tn.CountCalls("", "/api/v2/"); n != 1 {
				t.Errorf("%s: %d Management API calls, want 1: the client must not retry", tc.name, n)
			}
		})
	}
}

// TestScopeGrantedLater: a scope granted after the client fetched its token reaches it
// without a restart: the 403 renews the token, once; later 403s within the minute do not
// spend another token.
func TestScopeGrantedLater(t *testing.T) {
	tn := auth0test.NewT(t, auth0test.Config{Scopes: []string{"read:users"}})
	c := newClient(t, tn, nil)
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	ctx := context.Background()
	tokens := func() int { return tn.CountCalls(http.MethodPost, "/oauth/token") }

	if _, err := c.VerifyEmail(ctx, u.ID); !errors.Is(err, auth0client.ErrMissingScope) {
		t.Fatalf("flip before the grant: %v, want ErrMissingScope", err)
	}
	tn.SetScopes([]string{"read:users", "update:users"}) // the operator fixes the grant
	if got, err := c.VerifyEmail(ctx, u.ID); err != nil || !got.EmailVerified {
		t.Fatalf("flip after the grant: %+v, %v; want verified (the 403 renewed the token)", got, err)
	}
	fetched := tokens()
	for range 3 {
		if _, err := c.CreateUser(ctx, auth0client.CreateUser{Email: "grace@example.com", Connection: auth0test.DefaultConnection}); !errors.Is(err, auth0client.ErrMissingScope) {
			t.Fatalf("create without create:users: %v, want ErrMissingScope", err)
		}
	}
	if got := tokens(); got != fetched {
		t.Errorf("%d token fetches after three more 403s within the minute, want %d: renewals are paced", got, fetched)
	}
}

func TestCheckScopes(t *testing.T) {
	tests := []struct {
		name    string
		granted []string
		need    []string
		missing []string
	}{
		{"all granted", nil, auth0client.RequiredScopes, nil},
		{"flip scopes missing", auth0client.ProvisionScopes, auth0client.ServeScopes, []string{"read:users", "update:users"}},
		{"one missing", []string{"read:users"}, auth0client.ServeScopes, []string{"update:users"}},
		{"nothing granted", []string{}, []string{"read:users"}, []string{"read:users"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := auth0test.NewT(t, auth0test.Config{Scopes: tc.granted})
			c := newClient(t, tn, nil)
			err := c.CheckScopes(context.Background(), tc.need)
			var se *auth0client.ScopeError
			switch {
			case tc.missing == nil && err != nil:
				t.Errorf("%s: CheckScopes %v, want nil", tc.name, err)
			case tc.missing != nil && (!errors.As(err, &se) || !slices.Equal(se.Missing, tc.missing) || !errors.Is(err, auth0client.ErrMissingScope)):
				t.Errorf("%s: CheckScopes %v, want ErrMissingScope naming %v", tc.name, err, tc.missing)
			}
			if n := tn.CountCalls("", "/api/v2/"); n != 0 {
				t.Errorf("%s: CheckScopes made %d Management API calls, want 0", tc.name, n)
			}
		})
	}

	tn := auth0test.NewT(t, auth0test.Config{})
	c := newClient(t, tn, nil)
	tn.Inject(auth0test.Fault{PathPrefix: "/oauth/token", Status: 503})
	if err := c.CheckScopes(context.Background(), auth0client.ServeScopes); !errors.Is(err, auth0client.ErrTransient) || errors.Is(err, auth0client.ErrMissingScope) {
		t.Errorf("CheckScopes with the token endpoint down: %v, want ErrTransient, not ErrMissingScope", err)
	}
}

// TestCheckScopesSeesALaterGrant: a readiness check that finds a scope missing renews the
// token, paced: a grant made after the token was fetched shows at the next check, and a
// grant nobody makes costs no token per check.
func TestCheckScopesSeesALaterGrant(t *testing.T) {
	ctx := context.Background()
	tn := auth0test.NewT(t, auth0test.Config{Scopes: []string{"read:users"}})
	c := newClient(t, tn, nil)
	tokens := func() int { return tn.CountCalls(http.MethodPost, "/oauth/token") }
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	tn.SetScopes(auth0client.RequiredScopes) // granted after mailproof fetched its token
	if err := c.CheckScopes(ctx, auth0client.ServeScopes); !errors.Is(err, auth0client.ErrMissingScope) {
		t.Fatalf("check with the token fetched before the grant: %v, want ErrMissingScope", err)
	}
	if err := c.CheckScopes(ctx, auth0client.ServeScopes); err != nil {
		t.Errorf("next check: %v, want nil (the failed check renewed the token)", err)
	}

	tn2 := auth0test.NewT(t, auth0test.Config{Scopes: []string{"read:users"}})
	c2 := newClient(t, tn2, nil)
	for range 5 {
		if err := c2.CheckScopes(ctx, auth0client.ServeScopes); !errors.Is(err, auth0client.ErrMissingScope) {
			t.Fatalf("check without update:users: %v, want ErrMissingScope", err)
		}
	}
	if n := tn2.CountCalls(http.MethodPost, "/oauth/token"); n != 2 {
		t.Errorf("%d token fetches for 5 failing checks within a minute, want 2 (the first, one renewal)", n)
	}
	if n := tokens(); n != 2 {
		t.Errorf("%d token fetches, want 2", n)
	}
}
