package auth0client_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestSearchUsers(t *testing.T) {
	tn, clk := newTenant(t)
	c := newClient(t, tn, nil)
	ctx := context.Background()
	marker := map[string]any{auth0client.ProvisionMarker: map[string]any{"provisioned_at": "2026-11-20T00:00:00Z"}}
	var provisioned []string
	for i := range 3 {
		u := tn.AddUser(auth0test.UserSeed{Email: fmt.Sprintf("p%d@example.com", i), AppMetadata: marker,
			CreatedAt: clk.Now().Add(time.Duration(i-10) * time.Hour)})
		provisioned = append(provisioned, u.ID)
	}
	tn.AddUser(auth0test.UserSeed{Email: "verified@example.com", EmailVerified: true, AppMetadata: marker})
	tn.AddUser(auth0test.UserSeed{Email: "other@example.com"})
	tn.Login(provisioned[1], clk.Now())
	tn.ResetCalls()

	q := "_exists_:app_metadata.mailproof AND email_verified:false"
	first, total, err := c.SearchUsers(ctx, q, "", 0, 2)
	if err != nil || total != 3 || len(first) != 2 {
		t.Fatalf("page 0: %d users, total %d, %v; want 2 users, total 3", len(first), total, err)
	}
	second, total, err := c.SearchUsers(ctx, q, "", 1, 2)
	if err != nil || total != 3 || len(second) != 1 {
		t.Fatalf("page 1: %d users, total %d, %v; want 1 user, total 3", len(second), total, err)
	}
	var got []string
	for _, u := range append(first, second...) {
		got = append(got, u.ID)
		if !u.Provisioned || u.EmailVerified || u.Connection != auth0test.DefaultConnection || !u.DatabaseConnection {
			t.Errorf("user %+v: want provisioned, unverified, in the database connection", u)
		}
	}
	if !slices.Equal(got, provisioned) {
		t.Errorf("ids %v, want %v (oldest first)", got, provisioned)
	}
	if u := first[1]; !u.LastLogin.Equal(clk.Now()) || u.LoginsCount != 1 {
		t.Errorf("logged-in user: last login %v, count %d, want %v and 1", u.LastLogin, u.LoginsCount, clk.Now())
	}

	// What the SDK sent.
	calls := tn.Calls()
	sent, _ := url.ParseQuery(calls[len(calls)-1].Query)
	want := url.Values{"q": {q}, "search_engine": {"v3"}, "page": {"1"}, "per_page": {"2"}, "include_totals": {"true"}}
	for k, v := range want {
		if !slices.Equal(sent[k], v) {
			t.Errorf("query parameter %s = %v, want %v (sent %s)", k, sent[k], v, calls[len(calls)-1].Query)
		}
	}

	desc, _, err := c.SearchUsers(ctx, q, "created_at:-1", 0, 3)
	if err != nil || len(desc) != 3 || desc[0].ID != provisioned[2] {
		t.Fatalf("sorted newest first: %v, %v; want %s first", desc, err, provisioned[2])
	}
	calls = tn.Calls()
	if sent, _ := url.ParseQuery(calls[len(calls)-1].Query); sent.Get("sort") != "created_at:-1" {
		t.Errorf("sort sent as %q, want created_at:-1", sent.Get("sort"))
	}
}

func TestSearchUsersErrors(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, nil)
	ctx := context.Background()
	tests := []struct {
		name      string
		q         string
		page, per int
		want      string // in the message
	}{
		{"unparsable", "email_verified:true AND", 0, 50, "Invalid query"},
		{"past the first 1000", "", 10, 100, "first 1000 records"},
		{"page too large", "", 0, 101, "per_page"},
	}
	for _, tc := range tests {
		_, _, err := c.SearchUsers(ctx, tc.q, "", tc.page, tc.per)
		if !errors.Is(err, auth0client.ErrPermanent) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrPermanent mentioning %q", tc.name, err, tc.want)
		}
		for name, s := range sentinels {
			if s != auth0client.ErrPermanent && errors.Is(err, s) {
				t.Errorf("%s: %v also matches %s", tc.name, err, name)
			}
		}
	}

	tn.SetRate(1, 1)
	if _, _, err := c.SearchUsers(ctx, "", "", 0, 10); err != nil {
		t.Fatalf("first search within the bucket: %v", err)
	}
	var rl *auth0client.RateLimitError
	if _, _, err := c.SearchUsers(ctx, "", "", 0, 10); !errors.As(err, &rl) {
		t.Errorf("search over the limit: %v, want a RateLimitError", err)
	}
}

// TestSearchUsersLag: a user is not found until the index has caught up.
func TestSearchUsersLag(t *testing.T) {
	clk := newClock()
	tn := auth0test.NewT(t, auth0test.Config{Now: clk.Now, SearchLag: 3 * time.Second})
	c := newClient(t, tn, nil)
	ctx := context.Background()
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	if got, total, err := c.SearchUsers(ctx, `email:"ada@example.com"`, "", 0, 10); err != nil || total != 0 || len(got) != 0 {
		t.Errorf("before the lag: %v, total %d, %v; want nobody", got, total, err)
	}
	if got, err := c.GetUser(ctx, u.ID); err != nil || got.Email != "ada@example.com" {
		t.Errorf("GetUser before the lag: %+v, %v; want the user", got, err)
	}
	clk.Advance(3 * time.Second)
	if got, total, err := c.SearchUsers(ctx, `email:"ada@example.com"`, "", 0, 10); err != nil || total != 1 || got[0].ID != u.ID {
		t.Errorf("after the lag: %v, total %d, %v; want %s", got, total, err, u.ID)
	}
}

func TestConnectionID(t *testing.T) {
	tn, _ := newTenant(t)
	// Nothing in mailproof calls ConnectionID yet, so its grant lacks the
	// read:connections the call needs.
	tn.SetScopes(append(slices.Clone(auth0test.MailproofScopes), "read:connections"))
	c := newClient(t, tn, nil)
	want, _ := tn.ConnectionID(auth0test.DefaultConnection)
	if got, err := c.ConnectionID(context.Background(), auth0test.DefaultConnection); err != nil || got != want {
		t.Errorf("ConnectionID: %q, %v, want %q", got, err, want)
	}
	for _, name := range []string{"No-Such-Connection", ""} {
		if _, err := c.ConnectionID(context.Background(), name); !errors.Is(err, auth0client.ErrPermanent) {
			t.Errorf("ConnectionID(%q): %v, want ErrPermanent", name, err)
		}
	}
}
