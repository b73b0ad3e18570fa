package auth0test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUserProperties sends every property Auth0 documents for POST and
// PATCH /api/v2/users, and the ones it refuses, to a tenant with one
// connection that requires usernames and one that does not.
func TestUserProperties(t *testing.T) {
	tn := NewT(t, Config{Connections: []string{DefaultConnection, "Named"}, ConnectionOptions: map[string]ConnectionOptions{
		"Named": {RequiresUsername: true, UsernameMax: 20}}})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)

	full := map[string]any{
		"connection": "Named", "email": "Ada@Example.com", "password": "x", "username": "Countess.Ada",
		"phone_number": "+441234567890", "phone_verified": true, "blocked": false, "email_verified": true, "verify_email": false,
		"given_name": "Ada", "family_name": "Lovelace", "name": "Ada Lovelace", "nickname": "ada", "picture": "https://example.com/ada.png",
		"user_id": "ada1815", "user_metadata": map[string]any{"lang": "en"}, "app_metadata": map[string]any{"plan": "gold"},
	}
	resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, full)
	if resp.status != http.StatusCreated {
		t.Fatalf("create with every property: status %d (%s), want 201", resp.status, resp.body)
	}
	got, _ := tn.User("auth0|ada1815")
	if got.Email != "ada@example.com" || got.Username != "countess.ada" || got.GivenName != "Ada" || got.FamilyName != "Lovelace" ||
		got.PhoneNumber != "+441234567890" || !got.PhoneVerified || got.Blocked || !got.EmailVerified || got.Picture != "https://example.com/ada.png" ||
		got.UserMetadata["lang"] != "en" || got.AppMetadata["plan"] != "gold" {
		t.Errorf("stored user %+v, want every property as sent (email and username lower-cased)", got)
	}
	body := resp.json(t)
	if body["username"] != "countess.ada" || body["blocked"] != false || body["given_name"] != "Ada" || body["phone_verified"] != true {
		t.Errorf("answer %s, want username, blocked, given_name and phone_verified", resp.body)
	}

	found := call(t, c, http.MethodGet, tn.URL()+"/api/v2/users?q=username:countess.ada+AND+given_name:ada", tok, nil)
	if found.status != http.StatusOK || len(found.array(t)) != 1 {
		t.Errorf("search by username and given_name: %d %s, want the one user", found.status, found.body)
	}

	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"connection": DefaultConnection, "email": "grace@example.com", "password": "x"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	named := func(extra map[string]any) map[string]any {
		m := base(extra)
		m["connection"] = "Named"
		return m
	}
	tests := []struct {
		name          string
		method, path  string
		body          any
		wantStatus    int
		wantErrorCode string
		wantMessage   string // whole message
	}{
		{"username missing where required", http.MethodPost, "/api/v2/users", named(nil),
			400, "invalid_body", "Payload validation error: 'Missing required property: username'."},
		{"username where not required", http.MethodPost, "/api/v2/users", base(map[string]any{"username": "grace"}),
			400, "invalid_body", "Cannot set username for connection without requires_username"},
		{"username too long", http.MethodPost, "/api/v2/users", named(map[string]any{"username": strings.Repeat("g", 21)}),
			400, "invalid_body", ConnectionOptions{UsernameMin: 1, UsernameMax: 20}.usernameError()},
		{"username with a space", http.MethodPost, "/api/v2/users", named(map[string]any{"username": "grace hopper"}),
			400, "invalid_body", ConnectionOptions{UsernameMin: 1, UsernameMax: 20}.usernameError()},
		{"username with an accent", http.MethodPost, "/api/v2/users", named(map[string]any{"username": "grâce"}),
			400, "invalid_body", ConnectionOptions{UsernameMin: 1, UsernameMax: 20}.usernameError()},
		{"username that is an email", http.MethodPost, "/api/v2/users", named(map[string]any{"username": "g@example.com"}),
			400, "invalid_body", ConnectionOptions{UsernameMin: 1, UsernameMax: 20}.usernameError()},
		{"username taken, other case", http.MethodPost, "/api/v2/users", named(map[string]any{"username": "COUNTESS.ADA"}),
			400, "auth0_idp_error", "The username provided is in use already."},
		{"username longer than the schema allows", http.MethodPost, "/api/v2/users", named(map[string]any{"username": strings.Repeat("g", 129)}),
			400, "invalid_body", "Payload validation error: 'String is too long (129 chars), maximum 128' on property username (The user's username. Only valid if the connection requires a username)."},
		{"given_name of the wrong type", http.MethodPost, "/api/v2/users", base(map[string]any{"given_name": 7}),
			400, "invalid_body", "Payload validation error: 'Expected type string but found type number' on property given_name."},
		{"blocked of the wrong type", http.MethodPost, "/api/v2/users", base(map[string]any{"blocked": "no"}),
			400, "invalid_body", "Payload validation error: 'Expected type boolean but found type string' on property blocked."},
		{"null on create", http.MethodPost, "/api/v2/users", base(map[string]any{"family_name": nil}),
			400, "invalid_body", "Payload validation error: 'Expected type string but found type null' on property family_name."},
		{"empty name", http.MethodPost, "/api/v2/users", base(map[string]any{"name": ""}),
			400, "invalid_body", "Payload validation error: 'String is too short (0 chars), minimum 1' on property name (The user's full name)."},
		{"name too long", http.MethodPost, "/api/v2/users", base(map[string]any{"name": strings.Repeat("n", 301)}),
			400, "invalid_body", "Payload validation error: 'String is too long (301 chars), maximum 300' on property name (The user's full name)."},
		{"phone number not E.164", http.MethodPost, "/api/v2/users", base(map[string]any{"phone_number": "0123"}),
			400, "invalid_body", "Payload validation error: 'String does not match pattern ^\\+[0-9]{1,15}$: 0123' on property phone_number (The user's phone number (following the E.164 recommendation))."},
		{"user_id with a space", http.MethodPost, "/api/v2/users", base(map[string]any{"user_id": "a b"}),
			400, "invalid_body", "Payload validation error: 'String does not match pattern ^\\S*$: a b' on property user_id (The external user's id provided by the identity provider)."},
		{"a go-auth0 field Auth0 does not take", http.MethodPost, "/api/v2/users", base(map[string]any{"screen_name": "gh", "location": "NYC"}),
			400, "invalid_body", "Payload validation error: 'Additional properties not allowed: location,screen_name'."},
		{"patch: null email", http.MethodPatch, "/api/v2/users/auth0|ada1815", map[string]any{"email": nil},
			400, "invalid_body", "Payload validation error: 'Expected type string but found type null' on property email."},
		{"patch: username taken", http.MethodPatch, "/api/v2/users/auth0|babbage", map[string]any{"username": "countess.ada"},
			400, "auth0_idp_error", "The username provided is in use already."},
		{"patch: username where not required", http.MethodPatch, "/api/v2/users/auth0|plain", map[string]any{"username": "plain"},
			400, "invalid_body", "Cannot set username for connection without requires_username"},
		{"patch: given_name too long", http.MethodPatch, "/api/v2/users/auth0|ada1815", map[string]any{"given_name": strings.Repeat("g", 151)},
			400, "invalid_body", "Payload validation error: 'String is too long (151 chars), maximum 150' on property given_name (Given name/first name/forename of this user)."},
		{"patch: unknown property", http.MethodPatch, "/api/v2/users/auth0|ada1815", map[string]any{"description": "x"},
			400, "invalid_body", "Payload validation error: 'Additional properties not allowed: description'."},
	}
	tn.AddUser(UserSeed{ID: "auth0|babbage", Email: "charles@example.com", Username: "charles", Connection: "Named"})
	tn.AddUser(UserSeed{ID: "auth0|plain", Email: "plain@example.com"})
	for _, tc := range tests {
		resp := call(t, c, tc.method, tn.URL()+strings.ReplaceAll(tc.path, "|", "%7C"), tok, tc.body)
		if resp.status != tc.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			continue
		}
		got := resp.json(t)
		if code, _ := got["errorCode"].(string); code != tc.wantErrorCode || got["message"] != tc.wantMessage {
			t.Errorf("%s: body %s, want errorCode %q message %q", tc.name, resp.body, tc.wantErrorCode, tc.wantMessage)
		}
	}

	// PATCH: every documented property; null removes a profile field.
	patch := map[string]any{
		"blocked": true, "email_verified": false, "email": "ada.king@example.com", "phone_number": nil, "phone_verified": false,
		"user_metadata": map[string]any{"lang": nil, "tz": "Europe/London"}, "app_metadata": map[string]any{"plan": "platinum"},
		"given_name": nil, "family_name": "King", "name": "Augusta Ada King", "nickname": "countess", "picture": nil,
		"verify_email": false, "verify_phone_number": false, "password": "Analytical-1843", "connection": "Named",
		"client_id": tn.ClientID(), "username": "ada.king",
	}
	resp = call(t, c, http.MethodPatch, userURL(tn, "auth0|ada1815"), tok, patch)
	if resp.status != http.StatusOK {
		t.Fatalf("patch with every property: status %d (%s), want 200", resp.status, resp.body)
	}
	got, _ = tn.User("auth0|ada1815")
	if !got.Blocked || got.Email != "ada.king@example.com" || got.PhoneNumber != "" || got.GivenName != "" || got.FamilyName != "King" ||
		got.Picture != "" || got.Username != "ada.king" || got.UserMetadata["tz"] != "Europe/London" || got.UserMetadata["lang"] != nil ||
		got.AppMetadata["plan"] != "platinum" || !tn.CheckPassword(got.ID, "Analytical-1843") || got.LastPasswordReset.IsZero() {
		t.Errorf("patched user %+v, want every property applied", got)
	}
	if strings.Contains(string(resp.body), `"given_name"`) || strings.Contains(string(resp.body), `"picture"`) {
		t.Errorf("answer %s still shows the removed fields", resp.body)
	}

	// Login: by username where the connection requires one; a blocked user
	// is refused.
	tn.AddUser(UserSeed{Email: "grace@example.com", Username: "amazing.grace", Connection: "Named", Password: "Cobol-1959"})
	form := func(username, password string) map[string]string {
		return map[string]string{"grant_type": passwordRealmGrant, "client_id": tn.ClientID(), "client_secret": tn.ClientSecret(),
			"username": username, "password": password, "realm": "Named"}
	}
	logins := []struct {
		name, username, password string
		wantStatus               int
	}{
		{"by username", "Amazing.Grace", "Cobol-1959", 200},
		{"by email", "grace@example.com", "Cobol-1959", 200},
		{"blocked", "ada.king", "Analytical-1843", 401},
	}
	for _, l := range logins {
		resp := call(t, c, http.MethodPost, tn.URL()+"/oauth/token", "", form(l.username, l.password))
		if resp.status != l.wantStatus {
			t.Errorf("login %s: status %d (%s), want %d", l.name, resp.status, resp.body, l.wantStatus)
		}
	}
}
