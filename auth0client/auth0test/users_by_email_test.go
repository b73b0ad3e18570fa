package auth0test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUsersByEmail(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Connections: []string{DefaultConnection, "Staff"}})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	first := tn.AddUser(UserSeed{Email: "Ada@Example.com", CreatedAt: clock.Now().Add(-time.Hour)})
	second := tn.AddUser(UserSeed{Email: "ada@example.com", Connection: "Staff"})
	tn.AddUser(UserSeed{Email: "grace@example.com"})

	tests := []struct {
		name          string
		query         string
		wantStatus    int
		wantIDs       []string
		wantMessage   string // for errors, a substring
		wantErrorCode string
		wantOnly      []string // with fields: the properties every user has
	}{
		{name: "one address in two connections", query: "email=ada%40example.com", wantStatus: 200, wantIDs: []string{first.ID, second.ID}},
		{name: "exact match is case-sensitive", query: "email=Ada%40Example.com", wantStatus: 200, wantIDs: []string{}},
		{name: "no such address", query: "email=nobody%40example.com", wantStatus: 200, wantIDs: []string{}},
		{name: "no substring match", query: "email=example.com", wantStatus: 200, wantIDs: []string{}},
		{name: "fields included", query: "email=grace%40example.com&fields=user_id,email", wantStatus: 200,
			wantOnly: []string{"email", "user_id"}},
		{name: "fields excluded", query: "email=grace%40example.com&fields=identities,picture&include_fields=false", wantStatus: 200,
			wantOnly: []string{"created_at", "email", "email_verified", "name", "nickname", "updated_at", "user_id"}},
		{name: "missing email", query: "", wantStatus: 400, wantErrorCode: "invalid_query_string",
			wantMessage: "Query validation error: 'Missing required property: email'."},
		{name: "empty email", query: "email=", wantStatus: 400, wantErrorCode: "invalid_query_string",
			wantMessage: "Missing required property: email"},
		{name: "unknown parameter", query: "email=ada%40example.com&q=x", wantStatus: 400, wantErrorCode: "invalid_query_string",
			wantMessage: "Additional properties not allowed: q"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, c, http.MethodGet, tn.URL()+"/api/v2/users-by-email?"+tc.query, tok, nil)
			if resp.status != tc.wantStatus {
				t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			}
			if resp.header.Get("X-Ratelimit-Limit") == "" {
				t.Errorf("%s: no x-ratelimit-limit header", tc.name)
			}
			if tc.wantStatus != http.StatusOK {
				got := resp.json(t)
				msg, _ := got["message"].(string)
				if got["statusCode"] != float64(tc.wantStatus) || got["error"] != "Bad Request" || got["errorCode"] != tc.wantErrorCode || !strings.Contains(msg, tc.wantMessage) {
					t.Errorf("%s: body %s, want Bad Request, errorCode %q, message containing %q", tc.name, resp.body, tc.wantErrorCode, tc.wantMessage)
				}
				return
			}
			users := resp.array(t)
			if tc.wantOnly != nil {
				if len(users) != 1 {
					t.Fatalf("%s: %d users, want 1", tc.name, len(users))
				}
				var keys []string
				for k := range users[0] {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if !slices.Equal(keys, tc.wantOnly) {
					t.Errorf("%s: properties %v, want %v", tc.name, keys, tc.wantOnly)
				}
				return
			}
			var ids []string
			for _, u := range users {
				ids = append(ids, u["user_id"].(string))
			}
			if len(ids) != len(tc.wantIDs) || !slices.Equal(ids, tc.wantIDs) {
				t.Errorf("%s: users %v, want %v", tc.name, ids, tc.wantIDs)
			}
		})
	}
	if got := string(call(t, c, http.MethodGet, tn.URL()+"/api/v2/users-by-email?email=none%40example.com", tok, nil).body); got != "[]" {
		t.Errorf("no match: body %s, want []", got)
	}
	if r := call(t, c, http.MethodGet, tn.URL()+"/api/v2/users-by-email?email=ada%40example.com", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: status %d, want 401", r.status)
	}
}

func TestUsersByEmailWithGoAuth0(t *testing.T) {
	tn := NewT(t, Config{Connections: []string{DefaultConnection, "Staff"}})
	m := newManagement(t, tn)
	ctx := context.Background()
	db := tn.AddUser(UserSeed{Email: "ada@example.com", Password: strongPassword})
	staff := tn.AddUser(UserSeed{Email: "ada@example.com", Connection: "Staff"})
	tn.ResetPassword(db.ID, time.Now())

	users, err := m.User.ListByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatalf("ListByEmail: %v", err)
	}
	got := map[string]string{}
	for _, u := range users {
		if len(u.Identities) != 1 {
			t.Fatalf("ListByEmail: identities %v, want one", u.Identities)
		}
		got[u.GetID()] = u.Identities[0].GetConnection()
	}
	if len(got) != 2 || got[db.ID] != DefaultConnection || got[staff.ID] != "Staff" {
		t.Errorf("ListByEmail: users %v, want %s in %s and %s in Staff", got, db.ID, DefaultConnection, staff.ID)
	}
	for _, u := range users {
		if u.GetID() == db.ID && (u.LastPasswordReset == nil || u.GetEmailVerified()) {
			t.Errorf("ListByEmail: %s: last_password_reset %v, email_verified %v; want a reset time and unverified", u.GetID(), u.LastPasswordReset, u.GetEmailVerified())
		}
	}

	none, err := m.User.ListByEmail(ctx, "nobody@example.com")
	if err != nil || len(none) != 0 {
		t.Errorf("ListByEmail(unknown): %v, %v; want no users and no error", none, err)
	}
	if _, err := m.User.ListByEmail(ctx, ""); statusOf(err) != http.StatusBadRequest {
		t.Errorf("ListByEmail(\"\"): %v, want a 400", err)
	}
	// The SDK sends the address query-escaped; a plus sign must survive.
	plus := tn.AddUser(UserSeed{Email: "ada+tag@example.com"})
	if us, err := m.User.ListByEmail(ctx, "ada+tag@example.com"); err != nil || len(us) != 1 || us[0].GetID() != plus.ID {
		t.Errorf("ListByEmail(plus address): %v, %v; want %s", us, err, plus.ID)
	}
}
