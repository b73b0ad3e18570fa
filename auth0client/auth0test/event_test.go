package auth0test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPostLoginEvent(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)

	// Provisioning: created unverified with a password nobody knows, then
	// sent the reset email.
	created := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, map[string]any{
		"connection": DefaultConnection, "email": "ada@example.com", "password": "Unknown-To-Anyone-7",
		"email_verified": false, "verify_email": false,
	})
	id, _ := created.json(t)["user_id"].(string)
	link := resetEmailLink(t, tn, c, "ada@example.com")

	// The Action stand-in: like mailproof, it flips email_verified through
	// the Management API while the login waits.
	var seen []PostLoginEvent
	tn.OnLogin(func(ev PostLoginEvent) {
		seen = append(seen, ev)
		if !ev.User.EmailVerified {
			// Checked below through the user; t is not for this goroutine.
			_, _ = send(c, http.MethodPatch, userURL(tn, ev.User.UserID), tok, map[string]any{"email_verified": true})
		}
	})

	// The person follows the link, sets a password and logs in with it.
	clock.Advance(time.Hour)
	resetAt := clock.Now()
	page := strings.TrimSuffix(link, "#")
	if r := call(t, c, http.MethodPost, page, "", url.Values{"password": {"Chosen-By-Ada-1"}}.Encode()); r.status != http.StatusOK {
		t.Fatalf("reset page: status %d (%s)", r.status, r.body)
	}
	if r := passwordLogin(t, tn, c, loginForm(tn, "ada@example.com", "Unknown-To-Anyone-7", DefaultConnection, "")); r.status != http.StatusForbidden {
		t.Errorf("login with the provisioning password after the reset: status %d, want 403", r.status)
	}
	clock.Advance(time.Minute)
	loginAt := clock.Now()
	form := loginForm(tn, "ada@example.com", "Chosen-By-Ada-1", DefaultConnection, "openid email")
	req, _ := http.NewRequest(http.MethodPost, tn.URL()+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Go-Auth0/1.45.0")
	req.Header.Set("Auth0-Forwarded-For", "203.0.113.7")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	_ = json.NewDecoder(res.Body).Decode(&answer)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: status %d (%v)", res.StatusCode, answer)
	}
	// The ID token shows the user as the login found it: the Action's
	// flip lands after, as at Auth0.
	if cl := claims(t, answer["id_token"].(string)); cl["email_verified"] != false {
		t.Errorf("id_token email_verified %v, want false (the flip happened during the login)", cl["email_verified"])
	}
	if u, _ := tn.User(id); !u.EmailVerified || u.LoginsCount != 1 {
		t.Errorf("after the login: %+v, want verified by the hook and one login", u)
	}

	if len(seen) != 1 {
		t.Fatalf("hook ran %d times, want 1", len(seen))
	}
	ev := seen[0]
	conn := regexp.MustCompile(`^con_[A-Za-z0-9]{16}$`)
	checks := []struct {
		name      string
		got, want any
	}{
		{"user.user_id", ev.User.UserID, id},
		{"user.email", ev.User.Email, "ada@example.com"},
		{"user.email_verified", ev.User.EmailVerified, false},
		{"user.last_password_reset", ev.User.LastPasswordReset, iso(resetAt)},
		{"user.identities[0].provider", ev.User.Identities[0].Provider, "auth0"},
		{"user.identities[0].user_id", ev.User.Identities[0].UserID, strings.TrimPrefix(id, "auth0|")},
		{"connection.name", ev.Connection.Name, DefaultConnection},
		{"connection.id shape", conn.MatchString(ev.Connection.ID), true},
		{"connection.strategy", ev.Connection.Strategy, "auth0"},
		{"authentication.methods", len(ev.Authentication.Methods), 1},
		{"authentication.methods[0].name", ev.Authentication.Methods[0].Name, "pwd"},
		{"authentication.methods[0].timestamp", ev.Authentication.Methods[0].Timestamp, iso(loginAt)},
		{"stats.logins_count", ev.Stats.LoginsCount, 1},
		{"request.ip", ev.Request.IP, "203.0.113.7"},
		{"request.user_agent", ev.Request.UserAgent, "Go-Auth0/1.45.0"},
		{"request.hostname", ev.Request.Hostname, tn.Domain()},
		{"client.client_id", ev.Client.ClientID, tn.ClientID()},
		{"client.name", ev.Client.Name, clientName},
		{"tenant.id", ev.Tenant.ID, tenantName},
		{"transaction.protocol", ev.Transaction.Protocol, "oauth2-password"},
		{"transaction.id set", ev.Transaction.ID != "", true},
		{"no session for a password grant", ev.Session == nil, true},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("event %s: %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if logs := tn.Logins(); len(logs) != 1 || logs[0].Transaction.ID != ev.Transaction.ID {
		t.Errorf("Logins: %d events, want this login's", len(logs))
	}

	// The event marshals with Auth0's names.
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	user, _ := m["user"].(map[string]any)
	ids, _ := user["identities"].([]any)
	if len(ids) != 1 || ids[0].(map[string]any)["isSocial"] != false || user["last_password_reset"] != iso(resetAt) ||
		m["stats"].(map[string]any)["logins_count"] != float64(1) || m["session"] != nil || user["app_metadata"] == nil {
		t.Errorf("event JSON %s, want Auth0's field names", raw)
	}

	// The next login sees the flip, and the Go hook makes a session.
	clock.Advance(time.Minute)
	if _, ok := tn.Login(id, clock.Now()); !ok {
		t.Fatalf("Login: user not found")
	}
	if len(seen) != 2 || !seen[1].User.EmailVerified || seen[1].Stats.LoginsCount != 2 || seen[1].Session == nil ||
		seen[1].Transaction.Protocol != "oidc-basic-profile" {
		t.Errorf("second login's event %+v, want verified, logins_count 2, a session", seen[len(seen)-1])
	}
	seen[0].User.AppMetadata["x"] = "changed"
	if tn.Logins()[0].User.AppMetadata["x"] != nil {
		t.Errorf("Logins: stored event changed through a hook's copy")
	}
}
