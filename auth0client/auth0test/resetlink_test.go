package auth0test

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// resetEmailLink asks the tenant for a reset email to address, as an
// application does, and returns the link it carries.
func resetEmailLink(t *testing.T, tn *Tenant, c *http.Client, address string) string {
	t.Helper()
	resp := call(t, c, http.MethodPost, tn.URL()+"/dbconnections/change_password", "",
		map[string]string{"email": address, "connection": DefaultConnection})
	if resp.status != http.StatusOK {
		t.Fatalf("change_password: status %d (%s)", resp.status, resp.body)
	}
	e, ok := tn.LastEmailTo(address)
	if !ok {
		t.Fatalf("no email to %s", address)
	}
	return e.Link
}

// strictOptions turn every password option on, over the fair policy.
var strictOptions = map[string]ConnectionOptions{DefaultConnection: {
	PasswordPolicy: PolicyFair, PasswordHistory: 2, PasswordDictionary: true, NoPersonalInfo: true}}

func TestFollowResetLink(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, ConnectionOptions: strictOptions, Scopes: allScopes()})
	c := httpClient(tn, 5*time.Second)
	const newPassword = "Fresh-Start-2026"

	// ticket makes a password-change ticket through the Management API.
	ticket := func(userID string, markVerified bool) string {
		resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/tickets/password-change", token(t, tn, c),
			map[string]any{"user_id": userID, "mark_email_as_verified": markVerified})
		if resp.status != http.StatusCreated {
			t.Fatalf("ticket: status %d (%s)", resp.status, resp.body)
		}
		return resp.json(t)["ticket"].(string)
	}

	tests := []struct {
		name         string
		email        string
		link         func(u User) string // runs before the clock moves by after
		after        time.Duration
		password     string
		wantErr      error
		wantVerified bool
	}{
		{name: "reset email", email: "ada@example.com", link: func(User) string { return resetEmailLink(t, tn, c, "ada@example.com") },
			after: time.Hour, password: newPassword},
		{name: "ticket marking the email verified", email: "bob@example.com", link: func(u User) string { return ticket(u.ID, true) },
			password: newPassword, wantVerified: true},
		{name: "ticket leaving email_verified alone", email: "cy@example.com", link: func(u User) string { return ticket(u.ID, false) },
			password: newPassword},
		{name: "used link", email: "dee@example.com", link: func(User) string {
			link := resetEmailLink(t, tn, c, "dee@example.com")
			if _, err := tn.FollowResetLink(link, "First-Choice-1"); err != nil {
				t.Fatalf("first use: %v", err)
			}
			return link
		}, password: newPassword, wantErr: ErrLinkUsed},
		{name: "expired link", email: "eve@example.com", link: func(User) string { return resetEmailLink(t, tn, c, "eve@example.com") },
			after: 5 * 24 * time.Hour, password: newPassword, wantErr: ErrLinkExpired},
		{name: "just before expiry", email: "fay@example.com", link: func(User) string { return resetEmailLink(t, tn, c, "fay@example.com") },
			after: 5*24*time.Hour - time.Millisecond, password: newPassword},
		{name: "weak password", email: "gus@example.com", link: func(User) string { return resetEmailLink(t, tn, c, "gus@example.com") },
			password: "password", wantErr: ErrWeakPassword},
		{name: "common password", email: "kim@example.com", link: func(User) string { return resetEmailLink(t, tn, c, "kim@example.com") },
			password: "Password1", wantErr: ErrCommonPassword},
		{name: "personal password", email: "lou@example.com", link: func(User) string { return resetEmailLink(t, tn, c, "lou@example.com") },
			password: "Lou-Is-Great-7", wantErr: ErrPersonalPassword},
		{name: "current password again", email: "max@example.com", link: func(User) string { return resetEmailLink(t, tn, c, "max@example.com") },
			password: "Old-Password-1", wantErr: ErrReusedPassword},
		{name: "unknown ticket", email: "hal@example.com", link: func(User) string { return tn.URL() + "/u/reset-password?ticket=nope#" },
			password: newPassword, wantErr: ErrLinkInvalid},
		{name: "not a reset link", email: "ida@example.com", link: func(User) string { return tn.URL() + "/lo/reset?ticket=x" },
			password: newPassword, wantErr: ErrLinkInvalid},
		{name: "user deleted", email: "jo@example.com", link: func(u User) string {
			link := resetEmailLink(t, tn, c, "jo@example.com")
			// A fresh token: earlier rows moved the clock days on.
			if r := call(t, c, http.MethodDelete, userURL(tn, u.ID), token(t, tn, c), nil); r.status != http.StatusNoContent {
				t.Fatalf("delete: status %d (%s)", r.status, r.body)
			}
			return link
		}, password: newPassword, wantErr: ErrLinkInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tn.AddUser(UserSeed{Email: tc.email, Password: "Old-Password-1"})
			link := tc.link(u)
			before, _ := tn.User(u.ID)
			clock.Advance(tc.after)
			got, err := tn.FollowResetLink(link, tc.password)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("%s: error %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				changed := tc.password != "Old-Password-1" && tn.CheckPassword(u.ID, tc.password)
				if after, _ := tn.User(u.ID); !reflect.DeepEqual(after, before) || changed {
					t.Errorf("%s: a refused link changed the user: %+v, was %+v", tc.name, after, before)
				}
				return
			}
			if !got.LastPasswordReset.Equal(clock.Now()) || got.EmailVerified != tc.wantVerified || !tn.CheckPassword(u.ID, tc.password) {
				t.Errorf("%s: user %+v (new password taken: %v), want last_password_reset %v and email_verified %v",
					tc.name, got, tn.CheckPassword(u.ID, tc.password), clock.Now(), tc.wantVerified)
			}
			if _, err := tn.FollowResetLink(link, "Another-One-3"); !errors.Is(err, ErrLinkUsed) {
				t.Errorf("%s: second use: %v, want ErrLinkUsed", tc.name, err)
			}
		})
	}

	// A weak password leaves the link usable, as Auth0's form lets the
	// person try again.
	gus, _ := tn.LastEmailTo("gus@example.com")
	if _, err := tn.FollowResetLink(gus.Link, newPassword); err != nil {
		t.Errorf("after a weak password: %v, want the link still usable", err)
	}
}

func TestResetPage(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, ConnectionOptions: strictOptions})
	c := httpClient(tn, 5*time.Second)
	u := tn.AddUser(UserSeed{Email: "ada@example.com", Password: "Old-Password-1"})
	link := resetEmailLink(t, tn, c, "ada@example.com")
	stale := resetEmailLink(t, tn, c, "ada@example.com")
	page := strings.TrimSuffix(link, "#")
	form := func(password string) string { return url.Values{"password": {password}}.Encode() }

	tests := []struct {
		name       string
		method     string
		url        string
		body       any
		advance    time.Duration
		wantStatus int
		wantText   string
		wantForm   bool
	}{
		{name: "open the link", method: http.MethodGet, url: page, wantStatus: 200, wantText: "Change your password", wantForm: true},
		{name: "no password", method: http.MethodPost, url: page, body: form(""), wantStatus: 400, wantText: "Enter a new password", wantForm: true},
		{name: "weak password", method: http.MethodPost, url: page, body: form("password"), wantStatus: 400, wantText: "Password is too weak.", wantForm: true},
		{name: "common password", method: http.MethodPost, url: page, body: form("Welcome1"), wantStatus: 400, wantText: "Password is too common.", wantForm: true},
		{name: "personal password", method: http.MethodPost, url: page, body: form("Ada-Lovelace-1815"), wantStatus: 400, wantText: "Password is based on user information.", wantForm: true},
		{name: "current password", method: http.MethodPost, url: page, body: form("Old-Password-1"), wantStatus: 400, wantText: "Password has previously been used.", wantForm: true},
		{name: "set the password", method: http.MethodPost, url: page, body: form("Fresh-Start-2026"), wantStatus: 200, wantText: "Password changed"},
		{name: "open it again", method: http.MethodGet, url: page, wantStatus: 400, wantText: "already used"},
		{name: "post it again", method: http.MethodPost, url: page, body: form("Another-One-3"), wantStatus: 400, wantText: "already used"},
		{name: "unknown ticket", method: http.MethodGet, url: tn.URL() + "/u/reset-password?ticket=nope", wantStatus: 400, wantText: "not valid"},
		{name: "no ticket", method: http.MethodGet, url: tn.URL() + "/u/reset-password", wantStatus: 400, wantText: "not valid"},
		{name: "expired link", method: http.MethodGet, url: strings.TrimSuffix(stale, "#"), advance: 5 * 24 * time.Hour, wantStatus: 400, wantText: "expired"},
	}
	for _, tc := range tests {
		clock.Advance(tc.advance)
		resp := call(t, c, tc.method, tc.url, "", tc.body)
		if resp.status != tc.wantStatus {
			t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
		}
		body := string(resp.body)
		if !strings.Contains(body, tc.wantText) || strings.Contains(body, `name="password"`) != tc.wantForm {
			t.Errorf("%s: page %s, want %q and a form: %v", tc.name, body, tc.wantText, tc.wantForm)
		}
		if ct := resp.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: content type %q, want text/html", tc.name, ct)
		}
	}
	if !tn.CheckPassword(u.ID, "Fresh-Start-2026") {
		t.Errorf("the password set through the page is not the user's password")
	}
	for _, call := range tn.Calls() {
		if strings.Contains(string(call.Body), "Fresh-Start") {
			t.Errorf("call record keeps the new password: %s %s %s", call.Method, call.Path, call.Body)
		}
	}
}
