package auth0test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	userIDPattern = regexp.MustCompile(`^auth0\|[0-9a-f]{24}$`)
	isoPattern    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

func TestUserLifecycle(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Scopes: allScopes()})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)

	created := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, map[string]any{
		"connection": DefaultConnection, "email": "Ada@Example.com", "password": strongPassword,
		"email_verified": false, "verify_email": false, "name": "Ada Lovelace",
		"app_metadata": map[string]any{"mailproof": "pending", "team": "eng"},
	})
	if created.status != http.StatusCreated {
		t.Fatalf("create: status %d (%s), want 201", created.status, created.body)
	}
	u := created.json(t)
	id, _ := u["user_id"].(string)
	if !userIDPattern.MatchString(id) {
		t.Fatalf("create: user_id %q, want auth0|<24 hex>", id)
	}
	if u["email"] != "ada@example.com" || u["email_verified"] != false || u["name"] != "Ada Lovelace" || u["nickname"] != "ada" {
		t.Errorf("create: user %s, want lower-cased email, unverified, the name and nickname ada", created.body)
	}
	if ca, _ := u["created_at"].(string); !isoPattern.MatchString(ca) {
		t.Errorf("create: created_at %q, want ISO 8601 with milliseconds", ca)
	}
	if _, ok := u["last_password_reset"]; ok {
		t.Errorf("create: last_password_reset present at creation: %s", created.body)
	}
	ids, _ := u["identities"].([]any)
	if len(ids) != 1 {
		t.Fatalf("create: identities %v, want one", u["identities"])
	}
	ident := ids[0].(map[string]any)
	if ident["provider"] != "auth0" || ident["connection"] != DefaultConnection || ident["isSocial"] != false ||
		ident["user_id"] != strings.TrimPrefix(id, "auth0|") {
		t.Errorf("create: identity %v, want the auth0 database identity", ident)
	}
	if !tn.CheckPassword(id, strongPassword) {
		t.Errorf("create: the password sent is not the user's password")
	}

	dup := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, map[string]any{
		"connection": DefaultConnection, "email": "ada@example.com", "password": strongPassword,
	})
	if want := `{"statusCode":409,"error":"Conflict","message":"The user already exists.","errorCode":"auth0_idp_error"}`; dup.status != http.StatusConflict || string(dup.body) != want {
		t.Errorf("duplicate: %d %s, want 409 %s", dup.status, dup.body, want)
	}

	got := call(t, c, http.MethodGet, userURL(tn, id), tok, nil)
	if got.status != http.StatusOK || got.json(t)["user_id"] != id {
		t.Errorf("read: %d %s, want 200 with user_id %s", got.status, got.body, id)
	}

	clock.Advance(time.Minute)
	patched := call(t, c, http.MethodPatch, userURL(tn, id), tok, map[string]any{"email_verified": true})
	if p := patched.json(t); patched.status != http.StatusOK || p["email_verified"] != true || p["updated_at"] == u["updated_at"] {
		t.Errorf("patch email_verified: %d %s, want 200, verified, updated_at moved", patched.status, patched.body)
	}
	if _, ok := patched.json(t)["last_password_reset"]; ok {
		t.Errorf("patch email_verified: last_password_reset appeared: %s", patched.body)
	}

	clock.Advance(time.Minute)
	pw := call(t, c, http.MethodPatch, userURL(tn, id), tok, map[string]any{"password": "An0ther-Strong-One", "connection": DefaultConnection})
	if want := iso(clock.Now()); pw.status != http.StatusOK || pw.json(t)["last_password_reset"] != want {
		t.Errorf("patch password: %d %s, want 200 with last_password_reset %s", pw.status, pw.body, want)
	}
	if !tn.CheckPassword(id, "An0ther-Strong-One") {
		t.Errorf("patch password: the new password is not the user's password")
	}

	meta := call(t, c, http.MethodPatch, userURL(tn, id), tok, map[string]any{
		"app_metadata": map[string]any{"mailproof": nil, "region": "eu"},
	})
	gotMeta, _ := meta.json(t)["app_metadata"].(map[string]any)
	if len(gotMeta) != 2 || gotMeta["team"] != "eng" || gotMeta["region"] != "eu" {
		t.Errorf("patch app_metadata: %v, want team kept, region added, mailproof removed", gotMeta)
	}

	if del := call(t, c, http.MethodDelete, userURL(tn, id), tok, nil); del.status != http.StatusNoContent {
		t.Errorf("delete: status %d, want 204", del.status)
	}
	gone := call(t, c, http.MethodGet, userURL(tn, id), tok, nil)
	if want := `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`; gone.status != http.StatusNotFound || string(gone.body) != want {
		t.Errorf("read deleted: %d %s, want 404 %s", gone.status, gone.body, want)
	}
}

func TestUserValidation(t *testing.T) {
	tn := NewT(t, Config{ConnectionOptions: map[string]ConnectionOptions{DefaultConnection: {PasswordPolicy: PolicyFair}}})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	existing := tn.AddUser(UserSeed{Email: "ada@example.com", Password: strongPassword})
	tn.AddUser(UserSeed{Email: "grace@example.com"})

	tests := []struct {
		name          string
		method        string
		path          string
		body          any
		wantStatus    int
		wantErrorCode string
		wantMessage   string // substring
	}{
		{"create without connection", http.MethodPost, "/api/v2/users", map[string]any{"email": "a@example.com", "password": strongPassword},
			400, "invalid_body", "Missing required property: connection"},
		{"create in unknown connection", http.MethodPost, "/api/v2/users", map[string]any{"connection": "Other", "email": "a@example.com", "password": strongPassword},
			400, "inexistent_connection", "The connection does not exist."},
		{"create without email", http.MethodPost, "/api/v2/users", map[string]any{"connection": DefaultConnection, "password": strongPassword},
			400, "invalid_body", "Missing required property: email"},
		{"create with malformed email", http.MethodPost, "/api/v2/users", map[string]any{"connection": DefaultConnection, "email": "not-an-email", "password": strongPassword},
			400, "invalid_body", "format email"},
		{"create with a dotless domain", http.MethodPost, "/api/v2/users", map[string]any{"connection": DefaultConnection, "email": "a@localhost", "password": strongPassword},
			400, "invalid_body", "format email"},
		{"create without password", http.MethodPost, "/api/v2/users", map[string]any{"connection": DefaultConnection, "email": "a@example.com"},
			400, "invalid_body", "Missing required property: password"},
		{"create with weak password", http.MethodPost, "/api/v2/users", map[string]any{"connection": DefaultConnection, "email": "a@example.com", "password": "password"},
			400, "", "PasswordStrengthError"},
		{"create with unknown property", http.MethodPost, "/api/v2/users", map[string]any{"connection": DefaultConnection, "email": "a@example.com", "password": strongPassword, "shoe_size": 44},
			400, "invalid_body", "Additional properties not allowed: shoe_size"},
		{"create with wrong type", http.MethodPost, "/api/v2/users", map[string]any{"connection": DefaultConnection, "email": "a@example.com", "password": strongPassword, "email_verified": "yes"},
			400, "invalid_body", "Expected type boolean but found type string"},
		{"create with array body", http.MethodPost, "/api/v2/users", []string{"x"},
			400, "invalid_body", "Expected type object"},
		{"patch with empty body", http.MethodPatch, "/api/v2/users/" + existing.ID, map[string]any{},
			400, "invalid_body", "Too few properties defined (0), minimum 1"},
		{"patch with wrong type", http.MethodPatch, "/api/v2/users/" + existing.ID, map[string]any{"email_verified": 1},
			400, "invalid_body", "Expected type boolean but found type number"},
		{"patch to a taken email", http.MethodPatch, "/api/v2/users/" + existing.ID, map[string]any{"email": "grace@example.com"},
			400, "email_exists", "already exists"},
		{"patch unknown user", http.MethodPatch, "/api/v2/users/auth0|000000000000000000000000", map[string]any{"email_verified": true},
			404, "inexistent_user", "The user does not exist."},
		{"unknown route", http.MethodGet, "/api/v2/nothing-here", nil,
			404, "", "Not Found"},
		{"known path, unknown method", http.MethodPut, "/api/v2/users/" + existing.ID, map[string]any{"email_verified": true},
			404, "", "Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tn.URL() + strings.ReplaceAll(tc.path, "|", "%7C")
			resp := call(t, c, tc.method, url, tok, tc.body)
			if resp.status != tc.wantStatus {
				t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			}
			got := resp.json(t)
			code, _ := got["errorCode"].(string)
			msg, _ := got["message"].(string)
			if code != tc.wantErrorCode || !strings.Contains(msg, tc.wantMessage) || got["statusCode"] != float64(tc.wantStatus) {
				t.Errorf("%s: body %s, want errorCode %q and message containing %q", tc.name, resp.body, tc.wantErrorCode, tc.wantMessage)
			}
		})
	}
	if u, _ := tn.User(existing.ID); u.Email != "ada@example.com" || !tn.CheckPassword(existing.ID, strongPassword) {
		t.Errorf("rejected requests changed the user: %+v", u)
	}
}

func TestDriverHooks(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now})
	created := clock.Now().Add(-time.Hour)
	u := tn.AddUser(UserSeed{Email: "Ada@Example.com", CreatedAt: created, AppMetadata: map[string]any{"k": "v"}})
	if !userIDPattern.MatchString(u.ID) || u.Connection != DefaultConnection || u.Email != "ada@example.com" || !u.CreatedAt.Equal(created) {
		t.Fatalf("AddUser: %+v, want a generated id, the default connection, lower-cased email, the seed's CreatedAt", u)
	}
	u.AppMetadata["k"] = "changed"
	if got, _ := tn.User(u.ID); got.AppMetadata["k"] != "v" {
		t.Errorf("User: stored metadata changed through a returned copy")
	}

	at := clock.Now().Add(time.Minute)
	if !tn.ResetPassword(u.ID, at) {
		t.Fatalf("ResetPassword: user not found")
	}
	if got, _ := tn.User(u.ID); !got.LastPasswordReset.Equal(at) {
		t.Errorf("ResetPassword: last password reset %v, want %v", got.LastPasswordReset, at)
	}
	if tn.ResetPassword("auth0|missing", at) {
		t.Errorf("ResetPassword: reported success for a missing user")
	}
	if got, ok := tn.Login(u.ID, at.Add(time.Second)); !ok || got.LoginsCount != 1 || !got.LastLogin.Equal(at.Add(time.Second)) {
		t.Errorf("Login: %+v, want one login at %v", got, at.Add(time.Second))
	}
}
