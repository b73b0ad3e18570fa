package auth0test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// allScopes grants MailproofScopes and the scopes of the emulated routes
// mailproof never calls, for the tests of those routes.
func allScopes() []string {
	return append(slices.Clone(MailproofScopes), "delete:users", "read:connections", "delete:actions")
}

// tokenFor fetches a token and returns it with the answer's scope field.
func tokenFor(t *testing.T, tn *Tenant, c *http.Client) (token, scope string) {
	t.Helper()
	resp := call(t, c, http.MethodPost, tn.URL()+"/oauth/token", "", map[string]string{
		"grant_type": "client_credentials", "client_id": tn.ClientID(), "client_secret": tn.ClientSecret(),
		"audience": tn.URL() + "/api/v2/",
	})
	if resp.status != http.StatusOK {
		t.Fatalf("token: status %d (%s), want 200", resp.status, resp.body)
	}
	got := resp.json(t)
	token, _ = got["access_token"].(string)
	scope, _ = got["scope"].(string)
	return token, scope
}

func TestTokenCarriesGrantedScopes(t *testing.T) {
	tests := []struct {
		name      string
		scopes    []string
		wantScope string
	}{
		{"default grant", nil, strings.Join(MailproofScopes, " ")},
		{"configured grant", []string{"read:users"}, "read:users"},
		{"no scopes", []string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := NewT(t, Config{ClientID: "mailproof-m2m", Scopes: tc.scopes})
			token, scope := tokenFor(t, tn, httpClient(tn, 5*time.Second))
			if scope != tc.wantScope {
				t.Errorf("%s: answer scope %q, want %q", tc.name, scope, tc.wantScope)
			}
			c := claims(t, token)
			if c["scope"] != tc.wantScope {
				t.Errorf("%s: token scope claim %v, want %q", tc.name, c["scope"], tc.wantScope)
			}
			if c["sub"] != "mailproof-m2m@clients" || c["azp"] != "mailproof-m2m" || c["gty"] != "client-credentials" ||
				c["aud"] != tn.URL()+"/api/v2/" || c["iss"] != tn.URL()+"/" {
				t.Errorf("%s: claims %v, want Auth0's client-credentials claims", tc.name, c)
			}
		})
	}
}

func TestInsufficientScope(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		body    any
		granted []string
		want    string // the scopes the 403 names; "" when the call is allowed
	}{
		{"read user without read:users", "GET", "/api/v2/users/auth0%7Cnobody", nil, []string{"update:users"}, "read:users,read:user_idp_tokens"},
		{"read user with read:users", "GET", "/api/v2/users/auth0%7Cnobody", nil, []string{"read:users"}, ""},
		{"read user with read:user_idp_tokens", "GET", "/api/v2/users/auth0%7Cnobody", nil, []string{"read:user_idp_tokens"}, ""},
		{"flip without update:users", "PATCH", "/api/v2/users/auth0%7Cnobody", map[string]any{"email_verified": true}, []string{"read:users"}, "update:users,update:users_app_metadata"},
		{"flip with only update:users_app_metadata", "PATCH", "/api/v2/users/auth0%7Cnobody", map[string]any{"email_verified": true}, []string{"update:users_app_metadata"}, "update:users"},
		{"app_metadata with update:users_app_metadata", "PATCH", "/api/v2/users/auth0%7Cnobody", map[string]any{"app_metadata": map[string]any{"x": 1}}, []string{"update:users_app_metadata"}, ""},
		{"flip with update:users", "PATCH", "/api/v2/users/auth0%7Cnobody", map[string]any{"email_verified": true}, []string{"update:users"}, ""},
		{"create user", "POST", "/api/v2/users", map[string]any{}, []string{"read:users", "update:users"}, "create:users"},
		{"delete user", "DELETE", "/api/v2/users/auth0%7Cnobody", nil, MailproofScopes, "delete:users"},
		{"search users", "GET", "/api/v2/users?q=email_verified:false", nil, []string{"create:users"}, "read:users,read:user_idp_tokens"},
		{"users by email", "GET", "/api/v2/users-by-email?email=a@example.com", nil, []string{"update:users"}, "read:users"},
		{"password-change ticket", "POST", "/api/v2/tickets/password-change", map[string]any{}, []string{"create:users"}, "create:user_tickets"},
		{"connections", "GET", "/api/v2/connections", nil, MailproofScopes, "read:connections"},
		{"export", "POST", "/api/v2/jobs/users-exports", map[string]any{}, []string{"update:users"}, "read:users"},
		{"job with create:users", "GET", "/api/v2/jobs/job_0123456789abcdef", nil, []string{"create:users"}, ""},
		{"job", "GET", "/api/v2/jobs/job_0123456789abcdef", nil, []string{"update:users"}, "create:users,read:users"},
		{"list actions", "GET", "/api/v2/actions/actions", nil, []string{"create:actions", "update:actions"}, "read:actions"},
		{"read action", "GET", "/api/v2/actions/actions/x", nil, []string{"update:actions"}, "read:actions"},
		{"create action", "POST", "/api/v2/actions/actions", map[string]any{}, []string{"read:actions", "update:actions"}, "create:actions"},
		{"update action", "PATCH", "/api/v2/actions/actions/x", map[string]any{}, []string{"read:actions", "create:actions"}, "update:actions"},
		{"deploy action", "POST", "/api/v2/actions/actions/x/deploy", nil, []string{"read:actions", "update:actions"}, "create:actions"},
		{"delete action", "DELETE", "/api/v2/actions/actions/x", nil, MailproofScopes, "delete:actions"},
		{"read bindings", "GET", "/api/v2/actions/triggers/post-login/bindings", nil, []string{"update:actions"}, "read:actions"},
		{"update bindings", "PATCH", "/api/v2/actions/triggers/post-login/bindings", map[string]any{"bindings": []any{}}, []string{"read:actions", "create:actions"}, "update:actions"},
		{"unknown route is a 404, not a 403", "GET", "/api/v2/clients", nil, []string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := NewT(t, Config{Scopes: tc.granted})
			c := httpClient(tn, 5*time.Second)
			token, _ := tokenFor(t, tn, c)
			resp := call(t, c, tc.method, tn.URL()+tc.path, token, tc.body)
			if tc.want == "" {
				if resp.status == http.StatusForbidden || resp.status >= 500 {
					t.Errorf("%s: status %d (%s), want the call let through", tc.name, resp.status, resp.body)
				}
				return
			}
			want := `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: ` + tc.want + `","errorCode":"insufficient_scope"}`
			if resp.status != http.StatusForbidden || string(resp.body) != want {
				t.Errorf("%s: %d %s, want 403 %s", tc.name, resp.status, resp.body, want)
			}
		})
	}
}

// TestSetScopes: a token keeps the scopes it was issued with, as at Auth0; a
// token fetched after SetScopes carries the new grant, and RevokeTokens
// makes the holder of an old one fetch it.
func TestSetScopes(t *testing.T) {
	tn := NewT(t, Config{Scopes: []string{"read:users"}})
	c := httpClient(tn, 5*time.Second)
	flip := func(token string) int {
		return call(t, c, http.MethodPatch, userURL(tn, "auth0|nobody"), token, map[string]any{"email_verified": true}).status
	}
	old, _ := tokenFor(t, tn, c)
	if got := flip(old); got != http.StatusForbidden {
		t.Fatalf("flip without update:users: status %d, want 403", got)
	}

	tn.SetScopes([]string{"read:users", "update:users"})
	if got := tn.Scopes(); !slices.Equal(got, []string{"read:users", "update:users"}) {
		t.Errorf("Scopes() = %v after SetScopes, want read:users update:users", got)
	}
	if got := flip(old); got != http.StatusForbidden {
		t.Errorf("flip with the token issued before SetScopes: status %d, want 403 (a token keeps its scopes)", got)
	}
	fresh, scope := tokenFor(t, tn, c)
	if scope != "read:users update:users" {
		t.Errorf("token after SetScopes: scope %q, want read:users update:users", scope)
	}
	if got := flip(fresh); got != http.StatusNotFound {
		t.Errorf("flip with a token issued after SetScopes: status %d, want 404 (let through, no such user)", got)
	}

	tn.RevokeTokens()
	if got := flip(old); got != http.StatusUnauthorized {
		t.Errorf("flip with a revoked token: status %d, want 401", got)
	}
}
