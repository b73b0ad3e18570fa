package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/handlers"
)

// TestReadyzAuth0Scopes: /readyz, through the real handler, with the real client against
// the emulator: a token without the flip's scopes, or a worker meeting Auth0's refusals,
// fails readiness naming the scope and where to grant it; a token without the
// provisioning scopes passes with a warning; the Action deploy's scopes are not asked for.
func TestReadyzAuth0Scopes(t *testing.T) {
	refusal := &auth0client.ScopeError{Missing: []string{"update:users"}, Expected: []string{"update:users", "update:users_app_metadata"}}
	tests := []struct {
		name        string
		granted     []string
		worker      error
		fault       *auth0test.Fault
		wantStatus  int
		wantError   []string // in the auth0 check's error
		wantWarning []string // in its warning
	}{
		{name: "every scope", granted: auth0client.RequiredScopes, wantStatus: http.StatusOK},
		{name: "what serve and provisioning need, no deploy scopes", granted: slices.Concat(auth0client.ServeScopes, auth0client.ProvisionScopes), wantStatus: http.StatusOK},
		{name: "no update:users", granted: []string{"read:users", "create:users", "create:user_tickets"}, wantStatus: http.StatusServiceUnavailable,
			wantError: []string{"update:users", "lacks a scope the flip needs", auth0client.GrantScopeHint}},
		{name: "neither flip scope", granted: auth0client.ProvisionScopes, wantStatus: http.StatusServiceUnavailable,
			wantError: []string{"read:users, update:users", "grant them"}},
		{name: "the worker meets refusals", granted: auth0client.RequiredScopes, worker: refusal, wantStatus: http.StatusServiceUnavailable,
			wantError: []string{"worker's Management API calls are refused", "update:users"}},
		{name: "no provisioning scopes", granted: auth0client.ServeScopes, wantStatus: http.StatusOK,
			wantWarning: []string{"provisioning", "create:users, create:user_tickets"}},
		{name: "no token", granted: auth0client.RequiredScopes, fault: &auth0test.Fault{PathPrefix: "/oauth/token", Status: 401}, wantStatus: http.StatusServiceUnavailable,
			wantError: []string{"cannot obtain a Management API token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := auth0test.NewT(t, auth0test.Config{Scopes: tc.granted})
			if tc.fault != nil {
				tn.Inject(*tc.fault)
			}
			a0, err := auth0client.New(context.Background(), auth0client.Config{
				Domain: tn.Domain(), ClientID: tn.ClientID(), ClientSecret: tn.ClientSecret(), CAFile: tn.CAFile(), Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			worker := func(context.Context) error { return tc.worker }
			rec := httptest.NewRecorder()
			e := echo.New()
			err = handlers.Readyz(5*time.Second, handlers.Check{Name: "auth0", Probe: auth0Check(a0, worker)})(e.NewContext(httptest.NewRequest(http.MethodGet, "/readyz", nil), rec))
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Checks map[string]handlers.CheckResult `json:"checks"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("decode %s: %v", rec.Body, err)
			}
			got := body.Checks["auth0"]
			if rec.Code != tc.wantStatus {
				t.Errorf("%s: status %d (%+v), want %d", tc.name, rec.Code, got, tc.wantStatus)
			}
			for _, want := range tc.wantError {
				if !strings.Contains(got.Error, want) {
					t.Errorf("%s: error %q does not say %q", tc.name, got.Error, want)
				}
			}
			for _, want := range tc.wantWarning {
				if !strings.Contains(got.Warning, want) {
					t.Errorf("%s: warning %q does not say %q", tc.name, got.Warning, want)
				}
			}
			if tc.wantWarning == nil && got.Warning != "" {
				t.Errorf("%s: warning %q, want none", tc.name, got.Warning)
			}
			if n := tn.CountCalls("", "/api/v2/"); n != 0 {
				t.Errorf("%s: the check made %d Management API calls, want 0", tc.name, n)
			}
		})
	}
}
