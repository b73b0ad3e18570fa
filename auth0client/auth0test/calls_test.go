package auth0test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCallRecord(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	call(t, c, http.MethodPost, tn.URL()+"/oauth/token", "", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {tn.ClientID()}, "client_secret": {tn.ClientSecret()},
		"audience": {tn.URL() + "/api/v2/"},
	}.Encode())
	created := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, map[string]any{
		"connection": DefaultConnection, "email": "ada@example.com", "password": strongPassword,
	})
	id, _ := created.json(t)["user_id"].(string)
	call(t, c, http.MethodGet, userURL(tn, id), tok, nil)

	calls := tn.Calls()
	if len(calls) != 4 {
		t.Fatalf("recorded %d calls, want 4: %+v", len(calls), calls)
	}
	tests := []struct {
		name       string
		call       Call
		wantMethod string
		wantPath   string
		wantStatus int
	}{
		{"json token", calls[0], http.MethodPost, "/oauth/token", 200},
		{"form token", calls[1], http.MethodPost, "/oauth/token", 200},
		{"create user", calls[2], http.MethodPost, "/api/v2/users", 201},
		{"read user, path decoded", calls[3], http.MethodGet, "/api/v2/users/" + id, 200},
	}
	for _, tc := range tests {
		if tc.call.Method != tc.wantMethod || tc.call.Path != tc.wantPath || tc.call.Status != tc.wantStatus || !tc.call.At.Equal(clock.Now()) {
			t.Errorf("%s: %s %s %d at %v, want %s %s %d at %v", tc.name, tc.call.Method, tc.call.Path, tc.call.Status, tc.call.At,
				tc.wantMethod, tc.wantPath, tc.wantStatus, clock.Now())
		}
		body := string(tc.call.Body)
		if strings.Contains(body, tn.ClientSecret()) || strings.Contains(body, strongPassword) {
			t.Errorf("%s: recorded body keeps a secret: %s", tc.name, body)
		}
	}
	for i, want := range []string{`"client_secret":"[redacted]"`, `client_secret=%5Bredacted%5D`, `"password":"[redacted]"`} {
		if !strings.Contains(string(calls[i].Body), want) {
			t.Errorf("call %d body %s, want it to contain %s", i, calls[i].Body, want)
		}
	}
	if !strings.Contains(string(calls[2].Body), `"email":"ada@example.com"`) {
		t.Errorf("create body %s lost the non-secret fields", calls[2].Body)
	}

	calls[2].Body[0] = 'X'
	if tn.Calls()[2].Body[0] == 'X' {
		t.Errorf("Calls returned the stored body, not a copy")
	}
	tn.ResetCalls()
	if n := len(tn.Calls()); n != 0 {
		t.Errorf("after ResetCalls: %d calls, want 0", n)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{"json without secrets kept byte for byte", "application/json", `{ "email_verified": true }`, `{ "email_verified": true }`},
		{"json password", "application/json; charset=utf-8", `{"password":"x","name":"n"}`, `{"name":"n","password":"[redacted]"}`},
		{"form secret", "application/x-www-form-urlencoded", "client_secret=x&a=b", "a=b&client_secret=%5Bredacted%5D"},
		{"other type kept", "text/plain", "password=x", "password=x"},
		{"broken json without secrets kept", "application/json", `{"name":`, `{"name":`},
		{"broken json with a secret dropped", "application/json", `{"password":"x"`, ``},
	}
	for _, tc := range tests {
		if got := string(redact(tc.contentType, []byte(tc.body))); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}
