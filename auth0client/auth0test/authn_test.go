package auth0test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestToken(t *testing.T) {
	tn := NewT(t, Config{ClientID: "mailproof-m2m", ClientSecret: "s3cret/with+odd&chars"})
	c := httpClient(tn, 5*time.Second)
	audience := tn.URL() + "/api/v2/"
	form := func(v url.Values) string { return v.Encode() }

	tests := []struct {
		name       string
		body       any
		basicUser  string
		basicPass  string
		wantStatus int
		wantError  string
		wantDesc   string
	}{
		{
			name: "json body",
			body: map[string]string{"grant_type": "client_credentials", "client_id": "mailproof-m2m",
				"client_secret": "s3cret/with+odd&chars", "audience": audience},
			wantStatus: http.StatusOK,
		},
		{
			name: "form body",
			body: form(url.Values{"grant_type": {"client_credentials"}, "client_id": {"mailproof-m2m"},
				"client_secret": {"s3cret/with+odd&chars"}, "audience": {audience}}),
			wantStatus: http.StatusOK,
		},
		{
			// golang.org/x/oauth2 form-encodes the parts of the Basic header.
			name:       "basic header",
			body:       form(url.Values{"grant_type": {"client_credentials"}, "audience": {audience}}),
			basicUser:  url.QueryEscape("mailproof-m2m"),
			basicPass:  url.QueryEscape("s3cret/with+odd&chars"),
			wantStatus: http.StatusOK,
		},
		{
			name: "wrong secret",
			body: map[string]string{"grant_type": "client_credentials", "client_id": "mailproof-m2m",
				"client_secret": "nope", "audience": audience},
			wantStatus: http.StatusUnauthorized, wantError: "access_denied", wantDesc: "Unauthorized",
		},
		{
			name: "unknown client",
			body: map[string]string{"grant_type": "client_credentials", "client_id": "someone-else",
				"client_secret": "s3cret/with+odd&chars", "audience": audience},
			wantStatus: http.StatusUnauthorized, wantError: "access_denied", wantDesc: "Unauthorized",
		},
		{
			name: "missing grant type",
			body: map[string]string{"client_id": "mailproof-m2m", "client_secret": "s3cret/with+odd&chars",
				"audience": audience},
			wantStatus: http.StatusBadRequest, wantError: "invalid_request",
			wantDesc: "Missing required parameter: grant_type",
		},
		{
			name: "password grant",
			body: map[string]string{"grant_type": "password", "client_id": "mailproof-m2m",
				"client_secret": "s3cret/with+odd&chars", "audience": audience},
			wantStatus: http.StatusForbidden, wantError: "unauthorized_client",
			wantDesc: "Grant type 'password' not allowed for the client.",
		},
		{
			name: "missing audience",
			body: map[string]string{"grant_type": "client_credentials", "client_id": "mailproof-m2m",
				"client_secret": "s3cret/with+odd&chars"},
			wantStatus: http.StatusForbidden, wantError: "access_denied",
			wantDesc: "No audience parameter was provided, and no default audience has been configured",
		},
		{
			name: "other audience",
			body: map[string]string{"grant_type": "client_credentials", "client_id": "mailproof-m2m",
				"client_secret": "s3cret/with+odd&chars", "audience": "https://api.example.com/"},
			wantStatus: http.StatusForbidden, wantError: "access_denied",
			wantDesc: "Service not enabled within domain: https://api.example.com/",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var resp response
			if tc.basicUser == "" {
				resp = call(t, c, http.MethodPost, tn.URL()+"/oauth/token", "", tc.body)
			} else {
				resp = postBasic(t, c, tn.URL()+"/oauth/token", tc.basicUser, tc.basicPass, tc.body.(string))
			}
			if resp.status != tc.wantStatus {
				t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			}
			got := resp.json(t)
			if tc.wantStatus != http.StatusOK {
				if got["error"] != tc.wantError || got["error_description"] != tc.wantDesc {
					t.Errorf("%s: error %v %q, want %s %q", tc.name, got["error"], got["error_description"], tc.wantError, tc.wantDesc)
				}
				return
			}
			if got["token_type"] != "Bearer" || got["expires_in"] != float64(86400) || got["scope"] != strings.Join(MailproofScopes, " ") {
				t.Errorf("%s: token answer %s, want Bearer, 86400 s and mailproof's scopes", tc.name, resp.body)
			}
			// The issued token must open the Management API.
			if r := call(t, c, http.MethodGet, userURL(tn, "auth0|none"), got["access_token"].(string), nil); r.status != http.StatusNotFound {
				t.Errorf("%s: API with the issued token: status %d, want 404", tc.name, r.status)
			}
		})
	}
}

func TestManagementAPIAuthentication(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now})
	c := httpClient(tn, 5*time.Second)
	expired := token(t, tn, c)
	clock.Advance(24*time.Hour + time.Second)
	valid := token(t, tn, c)

	tests := []struct {
		name        string
		token       string
		wantStatus  int
		wantMessage string
	}{
		{name: "no token", token: "", wantStatus: http.StatusUnauthorized, wantMessage: "Missing authentication"},
		{name: "unknown token", token: "made-up", wantStatus: http.StatusUnauthorized, wantMessage: "Invalid token"},
		{name: "expired token", token: expired, wantStatus: http.StatusUnauthorized,
			wantMessage: "Expired token received for JSON Web Token validation"},
		{name: "valid token", token: valid, wantStatus: http.StatusNotFound, wantMessage: "The user does not exist."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, c, http.MethodGet, userURL(tn, "auth0|0123456789abcdef01234567"), tc.token, nil)
			if resp.status != tc.wantStatus {
				t.Fatalf("%s: status %d, want %d", tc.name, resp.status, tc.wantStatus)
			}
			got := resp.json(t)
			if got["statusCode"] != float64(tc.wantStatus) || got["message"] != tc.wantMessage {
				t.Errorf("%s: body %s, want statusCode %d and message %q", tc.name, resp.body, tc.wantStatus, tc.wantMessage)
			}
			if resp.header.Get("X-Ratelimit-Limit") == "" {
				t.Errorf("%s: no x-ratelimit-limit header", tc.name)
			}
		})
	}
}

// postBasic posts a form with client credentials in a Basic header.
func postBasic(t *testing.T, c *http.Client, url, user, pass, form string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: body}
}
