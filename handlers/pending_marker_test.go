package handlers

import (
	"errors"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// marker is user id's app_metadata.mailproof in the tenant, nil when it has none.
func marker(t *testing.T, tenant *auth0test.Tenant, id string) any {
	t.Helper()
	u, ok := tenant.User(id)
	if !ok {
		t.Fatalf("user %s is not in the tenant", id)
	}
	return u.AppMetadata[auth0client.ProvisionMarker]
}

func TestRegisterPendingMarksTheUser(t *testing.T) {
	f := newAdminFixture(t, fixtureOptions{})
	unmarked := f.tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	provisioned := map[string]any{"provisioned_at": "2026-11-20T08:00:00Z"}
	marked := f.tenant.AddUser(auth0test.UserSeed{Email: "grace@example.com",
		AppMetadata: map[string]any{auth0client.ProvisionMarker: provisioned, "plan": "gold"}})
	// Registered before registration set the marker: the record exists, the marker does not.
	legacy := f.tenant.AddUser(auth0test.UserSeed{Email: "alan@example.com"})
	if err := f.rdb.PutPending(t.Context(), store.Record{UserID: legacy.ID, Email: legacy.Email, Connection: auth0test.DefaultConnection}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		id          string
		wantStatus  int
		wantPatches int
	}{
		{"an unmarked user is marked", unmarked.ID, 201, 1},
		{"the same user again costs no call", unmarked.ID, 200, 0},
		{"a user mailproof created costs no call", marked.ID, 201, 0},
		{"a user registered before the marker existed is marked by a retry", legacy.ID, 200, 1},
	}
	for _, tc := range tests {
		before := f.tenant.CountCalls(http.MethodPatch, "/api/v2/users/")
		rec := f.register(tc.id)
		if rec.Code != tc.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", tc.name, rec.Code, rec.Body, tc.wantStatus)
			continue
		}
		if got := f.tenant.CountCalls(http.MethodPatch, "/api/v2/users/") - before; got != tc.wantPatches {
			t.Errorf("%s: %d PATCH calls, want %d", tc.name, got, tc.wantPatches)
		}
		if marker(t, f.tenant, tc.id) == nil {
			t.Errorf("%s: app_metadata has no %q after registration", tc.name, auth0client.ProvisionMarker)
		}
	}
	if u, _ := f.tenant.User(marked.ID); !reflect.DeepEqual(u.AppMetadata[auth0client.ProvisionMarker], provisioned) || u.AppMetadata["plan"] != "gold" {
		t.Errorf("app_metadata of the user mailproof created: %v, want it untouched", u.AppMetadata)
	}

	// What the marker is for: the reconcile sweep's user search finds every registered user.
	found, _, err := f.a0.SearchUsers(t.Context(), "_exists_:app_metadata."+auth0client.ProvisionMarker, "", 0, auth0client.MaxPerPage)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	var ids []string
	for _, u := range found {
		ids = append(ids, u.ID)
	}
	for _, id := range []string{unmarked.ID, marked.ID, legacy.ID} {
		if !slices.Contains(ids, id) {
			t.Errorf("the sweep's search found %v, not the registered %s", ids, id)
		}
	}
	checkNoEmails(t, f.logs, unmarked.Email, marked.Email, legacy.Email)
}

func TestRegisterPendingMarkerFails(t *testing.T) {
	tests := []struct {
		name       string
		fault      int // the status Auth0 answers the PATCH with
		wantStatus int
		wantCode   string
	}{
		{"Auth0 unavailable", http.StatusServiceUnavailable, 503, "auth0_unavailable"},
		{"Auth0 rate limited", http.StatusTooManyRequests, 429, "overloaded"},
		{"user deleted between the read and the marker", http.StatusNotFound, 404, "user_not_found"},
		{"Auth0 refuses the write", http.StatusBadRequest, 502, "auth0_rejected"},
	}
	for _, tc := range tests {
		f := newAdminFixture(t, fixtureOptions{})
		u := f.tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
		f.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: tc.fault, Times: 1})
		rec := f.register(u.ID)
		if rec.Code != tc.wantStatus || errorCode(rec) != tc.wantCode {
			t.Errorf("%s: answer %d %q (%s), want %d %q", tc.name, rec.Code, errorCode(rec), rec.Body, tc.wantStatus, tc.wantCode)
		}
		if tc.wantStatus == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tc.name)
		}
		if _, err := f.rdb.Get(t.Context(), u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: record after the failed marker: error %v, want store.ErrNotFound", tc.name, err)
		}
		if m := marker(t, f.tenant, u.ID); m != nil {
			t.Errorf("%s: marker %v, want none", tc.name, m)
		}
		if n := f.tenant.CountCalls(http.MethodPatch, "/api/v2/users/"); n != 1 {
			t.Errorf("%s: %d PATCH calls, want 1", tc.name, n)
		}
	}

	// The caller's retry after an outage registers and marks the user.
	f := newAdminFixture(t, fixtureOptions{})
	u := f.tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	f.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: http.StatusServiceUnavailable, Times: 1})
	if rec := f.register(u.ID); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: status %d (%s), want 503", rec.Code, rec.Body)
	}
	if rec := f.register(u.ID); rec.Code != http.StatusCreated || marker(t, f.tenant, u.ID) == nil {
		t.Errorf("retry: status %d (%s), marker %v; want 201 and the marker", rec.Code, rec.Body, marker(t, f.tenant, u.ID))
	}
}
