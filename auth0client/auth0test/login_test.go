package auth0test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// passwordLogin sends the request go-auth0's OAuth.LoginWithPassword sends
// when given a realm: a form with the password-realm grant.
func passwordLogin(t *testing.T, tn *Tenant, c *http.Client, v url.Values) response {
	t.Helper()
	return call(t, c, http.MethodPost, tn.URL()+"/oauth/token", "", v.Encode())
}

func loginForm(tn *Tenant, username, password, realm, scope string) url.Values {
	v := url.Values{
		"grant_type":    {passwordRealmGrant},
		"client_id":     {tn.ClientID()},
		"client_secret": {tn.ClientSecret()},
		"username":      {username},
		"password":      {password},
		"realm":         {realm},
	}
	if scope != "" {
		v.Set("scope", scope)
	}
	return v
}

func TestPasswordRealmLogin(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Connections: []string{DefaultConnection, "Staff"}})
	c := httpClient(tn, 5*time.Second)
	ada := tn.AddUser(UserSeed{Email: "ada@example.com", Password: strongPassword})
	tn.AddUser(UserSeed{Email: "grace@example.com", Password: strongPassword, Connection: "Staff"})
	tn.AddUser(UserSeed{Email: "nopass@example.com"})
	with := func(v url.Values, k, val string) url.Values {
		v = cloneValues(v)
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
		return v
	}
	good := loginForm(tn, "ada@example.com", strongPassword, DefaultConnection, "openid email")

	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantError  string
		wantDesc   string
		wantScope  string
		wantIDTok  bool
	}{
		{name: "openid email", form: good, wantStatus: 200, wantScope: "openid email", wantIDTok: true},
		{name: "default scope", form: with(good, "scope", ""), wantStatus: 200, wantScope: defaultLoginScope, wantIDTok: true},
		{name: "no openid, no id_token", form: with(good, "scope", "email"), wantStatus: 200, wantScope: "email"},
		{name: "username in another case", form: with(good, "username", "Ada@Example.COM"), wantStatus: 200, wantScope: "openid email", wantIDTok: true},
		{name: "wrong password", form: with(good, "password", "Wrong-Password-1"), wantStatus: 403,
			wantError: "invalid_grant", wantDesc: "Wrong email or password."},
		{name: "unknown user", form: with(good, "username", "nobody@example.com"), wantStatus: 403,
			wantError: "invalid_grant", wantDesc: "Wrong email or password."},
		{name: "user of another connection", form: with(good, "username", "grace@example.com"), wantStatus: 403,
			wantError: "invalid_grant", wantDesc: "Wrong email or password."},
		{name: "user without a password", form: with(good, "username", "nopass@example.com"), wantStatus: 403,
			wantError: "invalid_grant", wantDesc: "Wrong email or password."},
		{name: "missing username", form: with(good, "username", ""), wantStatus: 400,
			wantError: "invalid_request", wantDesc: "Missing required parameter: username"},
		{name: "missing password", form: with(good, "password", ""), wantStatus: 400,
			wantError: "invalid_request", wantDesc: "Missing required parameter: password"},
		{name: "missing realm", form: with(good, "realm", ""), wantStatus: 400,
			wantError: "invalid_request", wantDesc: "Missing required parameter: realm"},
		{name: "unknown realm", form: with(good, "realm", "Nope"), wantStatus: 400,
			wantError: "invalid_request", wantDesc: "Unknown realm: Nope"},
		{name: "wrong client secret", form: with(good, "client_secret", "nope"), wantStatus: 401,
			wantError: "access_denied", wantDesc: "Unauthorized"},
		{name: "no client secret", form: with(good, "client_secret", ""), wantStatus: 401,
			wantError: "access_denied", wantDesc: "Unauthorized"},
		{name: "an API audience", form: with(good, "audience", "https://api.example.com/"), wantStatus: 403,
			wantError: "access_denied", wantDesc: "Service not enabled within domain: https://api.example.com/"},
	}
	logins := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(time.Second)
			resp := passwordLogin(t, tn, c, tc.form)
			if resp.status != tc.wantStatus {
				t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			}
			got := resp.json(t)
			u, _ := tn.User(ada.ID)
			if tc.wantStatus != http.StatusOK {
				if got["error"] != tc.wantError || got["error_description"] != tc.wantDesc {
					t.Errorf("%s: body %s, want %s %q", tc.name, resp.body, tc.wantError, tc.wantDesc)
				}
				if u.LoginsCount != logins || len(tn.Logins()) != logins {
					t.Errorf("%s: a refused login counted: logins_count %d, %d events, want %d", tc.name, u.LoginsCount, len(tn.Logins()), logins)
				}
				return
			}
			logins++
			if tok, _ := got["access_token"].(string); tok == "" || got["token_type"] != "Bearer" || got["expires_in"] != float64(86400) || got["scope"] != tc.wantScope {
				t.Errorf("%s: answer %s, want an access token, Bearer, 86400 s and scope %q", tc.name, resp.body, tc.wantScope)
			}
			if resp.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q, want no-store", tc.name, resp.header.Get("Cache-Control"))
			}
			idt, hasID := got["id_token"].(string)
			if hasID != tc.wantIDTok {
				t.Fatalf("%s: id_token present %v, want %v", tc.name, hasID, tc.wantIDTok)
			}
			if hasID {
				cl := claims(t, idt)
				if cl["sub"] != ada.ID || cl["aud"] != tn.ClientID() || cl["iss"] != tn.URL()+"/" ||
					cl["email"] != "ada@example.com" || cl["email_verified"] != false || cl["iat"] != float64(clock.Now().Unix()) {
					t.Errorf("%s: id_token claims %v, want ada's, unverified, issued now", tc.name, cl)
				}
			}
			if u.LoginsCount != logins || !u.LastLogin.Equal(clock.Now()) {
				t.Errorf("%s: logins_count %d, last_login %v; want %d and %v", tc.name, u.LoginsCount, u.LastLogin, logins, clock.Now())
			}
			// A person's token must not open the Management API.
			if r := call(t, c, http.MethodGet, userURL(tn, ada.ID), got["access_token"].(string), nil); r.status != http.StatusUnauthorized {
				t.Errorf("%s: Management API with the login's access token: status %d, want 401", tc.name, r.status)
			}
		})
	}
}

// cloneValues copies url.Values so a test row can change its own.
func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
