package auth0test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestSearchLag(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, SearchLag: 2 * time.Second, Rate: 1, Burst: 1000, Scopes: allScopes()})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	find := func(q string) []string {
		t.Helper()
		resp := searchUsers(t, tn, c, tok, q, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("search %s: status %d (%s)", q, resp.status, resp.body)
		}
		return ids(t, resp)
	}
	check := func(step, q string, want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if got := find(q); !slices.Equal(got, want) {
			t.Errorf("%s: %s found %v, want %v", step, q, got, want)
		}
	}

	u := tn.AddUser(UserSeed{ID: "auth0|ada", Email: "ada@example.com"})
	check("just created", "email:ada@example.com")
	clock.Advance(time.Second)
	check("within the lag", "email:ada@example.com")
	clock.Advance(time.Second)
	check("the lag passed", "email:ada@example.com", u.ID)

	// A PATCH is read back at once by id, but search serves the version it
	// indexed until the lag has passed.
	resp := call(t, c, http.MethodPatch, userURL(tn, u.ID), tok, map[string]any{"email_verified": true})
	if resp.status != http.StatusOK {
		t.Fatalf("patch: status %d (%s)", resp.status, resp.body)
	}
	if got, _ := tn.User(u.ID); !got.EmailVerified {
		t.Fatalf("read by id after patch: email_verified false, want true")
	}
	check("patched, stale", "email_verified:true")
	stale := searchUsers(t, tn, c, tok, "email_verified:false", nil).array(t)
	if len(stale) != 1 || stale[0]["email_verified"] != false {
		t.Errorf("patched, stale: answer %v, want the old version (email_verified false)", stale)
	}
	clock.Advance(2 * time.Second)
	check("patched, indexed", "email_verified:true", u.ID)
	check("patched, old version gone", "email_verified:false")

	// Two writes within the lag: the first becomes visible before the
	// second.
	tn.Login(u.ID, clock.Now())
	clock.Advance(time.Second)
	tn.Login(u.ID, clock.Now())
	check("two logins, neither indexed", "logins_count:[1 TO *]")
	clock.Advance(time.Second)
	check("first login indexed", "logins_count:1", u.ID)
	clock.Advance(time.Second)
	check("second login indexed", "logins_count:2", u.ID)

	// A deleted user stays findable for the lag.
	if resp := call(t, c, http.MethodDelete, userURL(tn, u.ID), tok, nil); resp.status != http.StatusNoContent {
		t.Fatalf("delete: status %d", resp.status)
	}
	check("deleted, still indexed", "email:ada@example.com", u.ID)
	clock.Advance(2 * time.Second)
	check("deleted, gone", "email:ada@example.com")
}

// TestSearchSeesEveryWrite: with no lag, each way the tenant changes a user
// reaches the index at once.
func TestSearchSeesEveryWrite(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Rate: 1, Burst: 1000})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	count := func(q string) int {
		t.Helper()
		return len(searchUsers(t, tn, c, tok, q, nil).array(t))
	}

	resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, map[string]any{
		"connection": DefaultConnection, "email": "ada@example.com", "password": strongPassword,
		"app_metadata": map[string]any{"mailproof": map[string]any{"provisioned_at": "x"}},
	})
	id, _ := resp.json(t)["user_id"].(string)
	steps := []struct {
		name  string
		write func()
		q     string
	}{
		{"create", func() {}, "_exists_:app_metadata.mailproof"},
		{"patch", func() {
			call(t, c, http.MethodPatch, userURL(tn, id), tok, map[string]any{"name": "Ada Lovelace"})
		}, "name:lovelace"},
		{"reset", func() {
			clock.Advance(time.Hour)
			tn.ResetPassword(id, clock.Now())
		}, "updated_at:[2026-11-24T11:00 TO *]"},
		{"email change", func() { tn.ChangeEmail(id, "ada@example.org", false) }, "email.domain:example.org"},
		{"login", func() { tn.Login(id, clock.Now()) }, "_exists_:last_login"},
	}
	for _, s := range steps {
		s.write()
		if got := count(s.q); got != 1 {
			t.Errorf("%s: %s found %d users, want 1", s.name, s.q, got)
		}
	}
}
