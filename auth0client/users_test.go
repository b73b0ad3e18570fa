package auth0client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestGetUser(t *testing.T) {
	tn, clk := newTenant(t)
	c := newClient(t, tn, nil)
	created := clk.Now().Add(-48 * time.Hour)
	seeded := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com", CreatedAt: created})
	reset := clk.Now().Add(-time.Hour)
	tn.ResetPassword(seeded.ID, reset)
	tn.Login(seeded.ID, clk.Now())

	got, err := c.GetUser(context.Background(), seeded.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	want := auth0client.User{
		ID: seeded.ID, Email: "ada@example.com", EmailVerified: false,
		Connection: auth0test.DefaultConnection, DatabaseConnection: true,
		CreatedAt: created, LastPasswordReset: reset, LastLogin: clk.Now(), LoginsCount: 1,
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.LastPasswordReset.Equal(want.LastPasswordReset) || !got.LastLogin.Equal(want.LastLogin) {
		t.Errorf("GetUser times: got %+v, want %+v", got, want)
	}
	if got.UpdatedAt.IsZero() {
		t.Errorf("GetUser: no updated_at")
	}
	got.CreatedAt, got.LastPasswordReset, got.LastLogin, got.UpdatedAt = want.CreatedAt, want.LastPasswordReset, want.LastLogin, time.Time{}
	if got != want {
		t.Errorf("GetUser: got %+v, want %+v", got, want)
	}

	fresh := tn.AddUser(auth0test.UserSeed{Email: "grace@example.com"})
	if got, err := c.GetUser(context.Background(), fresh.ID); err != nil || !got.LastPasswordReset.IsZero() || !got.LastLogin.IsZero() {
		t.Errorf("GetUser of a fresh user: %+v %v, want no password reset and no login", got, err)
	}

	_, err = c.GetUser(context.Background(), "auth0|000000000000000000000000")
	if !errors.Is(err, auth0client.ErrUserNotFound) {
		t.Errorf("GetUser of a missing user: %v, want ErrUserNotFound", err)
	}
}

func TestVerifyEmail(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, nil)
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com", AppMetadata: map[string]any{"keep": "me"}})
	tn.ResetCalls()

	got, err := c.VerifyEmail(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("VerifyEmail: %v", err)
	}
	if !got.EmailVerified || got.ID != u.ID || got.Email != "ada@example.com" {
		t.Errorf("VerifyEmail answer: %+v, want the verified user", got)
	}
	if stored, _ := tn.User(u.ID); !stored.EmailVerified || stored.AppMetadata["keep"] != "me" {
		t.Errorf("stored user: %+v, want verified and otherwise unchanged", stored)
	}
	var patches []string
	for _, call := range tn.Calls() {
		if call.Method == http.MethodPatch {
			patches = append(patches, strings.TrimSpace(string(call.Body)))
		}
	}
	if len(patches) != 1 || patches[0] != `{"email_verified":true}` {
		t.Errorf("PATCH bodies %q, want exactly one {\"email_verified\":true}", patches)
	}

	if _, err := c.VerifyEmail(context.Background(), "auth0|000000000000000000000000"); !errors.Is(err, auth0client.ErrUserNotFound) {
		t.Errorf("VerifyEmail of a missing user: %v, want ErrUserNotFound", err)
	}
}

func TestCreateUser(t *testing.T) {
	tn, clk := newTenant(t)
	c := newClient(t, tn, nil)
	tn.AddUser(auth0test.UserSeed{Email: "taken@example.com"})

	tests := []struct {
		name     string
		in       auth0client.CreateUser
		wantErr  error
		wantText string // in the error
		hideText string // never in the error
	}{
		{name: "with a password", in: auth0client.CreateUser{Email: "ada@example.com", Name: "Ada", Connection: auth0test.DefaultConnection, Password: "Given-Passw0rd"}},
		{name: "random password", in: auth0client.CreateUser{Email: "grace@example.com", Connection: auth0test.DefaultConnection}},
		{name: "duplicate", in: auth0client.CreateUser{Email: "taken@example.com", Connection: auth0test.DefaultConnection},
			wantErr: auth0client.ErrPermanent, wantText: "The user already exists.", hideText: "taken@example.com"},
		{name: "malformed email", in: auth0client.CreateUser{Email: "bad@example..com", Connection: auth0test.DefaultConnection},
			wantErr: auth0client.ErrPermanent, wantText: "b***@", hideText: "bad@example..com"},
		{name: "unknown connection", in: auth0client.CreateUser{Email: "x@example.com", Connection: "Nope"},
			wantErr: auth0client.ErrPermanent, wantText: "The connection does not exist."},
		{name: "no connection", in: auth0client.CreateUser{Email: "x@example.com"}, wantErr: auth0client.ErrPermanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn.ResetCalls()
			got, err := c.CreateUser(context.Background(), tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("%s: error %v, want %v", tc.name, err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantText) || (tc.hideText != "" && strings.Contains(err.Error(), tc.hideText)) {
					t.Errorf("%s: error %q, want it to contain %q and not %q", tc.name, err, tc.wantText, tc.hideText)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got.ID == "" || got.Email != tc.in.Email || got.EmailVerified || !got.DatabaseConnection ||
				got.Connection != tc.in.Connection || !got.CreatedAt.Equal(clk.Now()) || !got.LastPasswordReset.IsZero() {
				t.Errorf("%s: user %+v, want a new unverified database user without a password reset", tc.name, got)
			}
			if tc.in.Password != "" && !tn.CheckPassword(got.ID, tc.in.Password) {
				t.Errorf("%s: the given password is not the user's", tc.name)
			}
			calls := tn.Calls()
			var body map[string]any
			if len(calls) == 0 || json.Unmarshal(calls[len(calls)-1].Body, &body) != nil {
				t.Fatalf("%s: no create call recorded", tc.name)
			}
			if body["email_verified"] != false || body["verify_email"] != false || body["password"] != "[redacted]" {
				t.Errorf("%s: request %v, want email_verified and verify_email false and a password", tc.name, body)
			}
			if stored, _ := tn.User(got.ID); tc.in.Name != "" && stored.Name != tc.in.Name {
				t.Errorf("%s: name %q, want %q", tc.name, stored.Name, tc.in.Name)
			}
		})
	}
}

func TestUnverifyEmail(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, nil)
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com", EmailVerified: true, Connection: auth0test.DefaultConnection})
	tn.ResetCalls()

	got, err := c.UnverifyEmail(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("UnverifyEmail: %v", err)
	}
	if got.EmailVerified || got.Email != "ada@example.com" || got.Connection != auth0test.DefaultConnection {
		t.Errorf("UnverifyEmail answer: %+v, want the unverified user on its connection", got)
	}
	if stored, _ := tn.User(u.ID); stored.EmailVerified {
		t.Errorf("stored user: %+v, want unverified", stored)
	}
	var patches []string
	for _, call := range tn.Calls() {
		if call.Method == http.MethodPatch {
			patches = append(patches, strings.TrimSpace(string(call.Body)))
		}
	}
	if len(patches) != 1 || patches[0] != `{"email_verified":false}` {
		t.Errorf("PATCH bodies %q, want exactly one {\"email_verified\":false}", patches)
	}
	if _, err := c.UnverifyEmail(context.Background(), "auth0|000000000000000000000000"); !errors.Is(err, auth0client.ErrUserNotFound) {
		t.Errorf("UnverifyEmail of a deleted user: %v, want ErrUserNotFound", err)
	}
}

// TestGeneratedPasswordPassesEveryOption provisions users without a
// password under a connection with Auth0's strictest password settings:
// policy excellent, the longest minimum length, the longest history, the
// dictionary and the personal-data option. Short local parts and names are
// what a random password would most easily contain.
func TestGeneratedPasswordPassesEveryOption(t *testing.T) {
	tn := auth0test.NewT(t, auth0test.Config{Rate: 1e6, Burst: 1e6, ConnectionOptions: map[string]auth0test.ConnectionOptions{
		auth0test.DefaultConnection: {PasswordPolicy: auth0test.PolicyExcellent, MinLength: 72, PasswordHistory: 24,
			PasswordDictionary: true, DictionaryEntries: []string{"mailproof"}, NoPersonalInfo: true},
	}})
	c := newClient(t, tn, nil)
	// The connection does refuse what it should: the check below is not
	// vacuous.
	if _, err := c.CreateUser(context.Background(), auth0client.CreateUser{Email: "weak@example.com",
		Connection: auth0test.DefaultConnection, Password: "Given-Passw0rd"}); !errors.Is(err, auth0client.ErrPermanent) ||
		!strings.Contains(err.Error(), "PasswordStrengthError") {
		t.Fatalf("a 14-character password: %v, want Auth0's PasswordStrengthError", err)
	}
	const users = 150
	for i := range users {
		local := fmt.Sprintf("%c%d", 'a'+i%26, i/26) // a0, b0, …: two or three characters
		name := string(rune('A' + i%26))
		if i%2 == 0 {
			name = "" // the name defaults to the address, which has an @ no password has
		}
		u, err := c.CreateUser(context.Background(), auth0client.CreateUser{Email: local + "@example.com", Name: name,
			Connection: auth0test.DefaultConnection})
		if err != nil {
			t.Fatalf("user %d (%s, name %q): %v", i, local, name, err)
		}
		if got, _ := tn.User(u.ID); got.Email != local+"@example.com" {
			t.Fatalf("user %d: stored %+v", i, got)
		}
	}
}
