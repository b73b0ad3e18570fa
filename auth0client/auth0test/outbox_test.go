package auth0test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestChangePasswordEmail(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Connections: []string{DefaultConnection, "Staff"}})
	c := httpClient(tn, 5*time.Second)
	ada := tn.AddUser(UserSeed{Email: "ada@example.com"})
	tn.AddUser(UserSeed{Email: "grace@example.com", Connection: "Staff"})
	link := regexp.MustCompile(`^` + regexp.QuoteMeta(tn.URL()) + `/u/reset-password\?ticket=[A-Za-z0-9]{32}#$`)

	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantDesc   string // error_description of a 400
		wantTo     string // the address emailed; "" when nothing is sent
		wantClient string
	}{
		{name: "existing user", body: map[string]string{"client_id": tn.ClientID(), "email": "ada@example.com", "connection": DefaultConnection},
			wantStatus: 200, wantTo: "ada@example.com", wantClient: tn.ClientID()},
		{name: "client_id is optional", body: map[string]string{"email": "ada@example.com", "connection": DefaultConnection},
			wantStatus: 200, wantTo: "ada@example.com"},
		{name: "address in another case", body: map[string]string{"email": " Ada@Example.COM", "connection": DefaultConnection},
			wantStatus: 200, wantTo: "ada@example.com"},
		{name: "form body", body: url.Values{"email": {"ada@example.com"}, "connection": {DefaultConnection}}.Encode(),
			wantStatus: 200, wantTo: "ada@example.com"},
		{name: "unknown user answers the same and sends nothing", body: map[string]string{"email": "nobody@example.com", "connection": DefaultConnection},
			wantStatus: 200},
		{name: "user of another connection gets nothing", body: map[string]string{"email": "grace@example.com", "connection": DefaultConnection},
			wantStatus: 200},
		{name: "unknown connection", body: map[string]string{"email": "ada@example.com", "connection": "Other"},
			wantStatus: 400, wantDesc: "connection not found"},
		{name: "missing email", body: map[string]string{"connection": DefaultConnection},
			wantStatus: 400, wantDesc: "email is required"},
		{name: "missing connection", body: map[string]string{"email": "ada@example.com"},
			wantStatus: 400, wantDesc: "connection is required"},
		{name: "unknown client", body: map[string]string{"client_id": "someone-else", "email": "ada@example.com", "connection": DefaultConnection},
			wantStatus: 400, wantDesc: "Unknown client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(time.Second)
			before := len(tn.Outbox())
			resp := call(t, c, http.MethodPost, tn.URL()+"/dbconnections/change_password", "", tc.body)
			if resp.status != tc.wantStatus {
				t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			}
			sent := tn.Outbox()[before:]
			if tc.wantStatus != http.StatusOK {
				if got := resp.json(t); got["error"] != "invalid_request" || got["error_description"] != tc.wantDesc {
					t.Errorf("%s: body %s, want invalid_request %q", tc.name, resp.body, tc.wantDesc)
				}
				if len(sent) != 0 {
					t.Errorf("%s: %d emails sent, want none", tc.name, len(sent))
				}
				return
			}
			if string(resp.body) != resetSent || resp.header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("%s: answer %q (%s), want %q as text/html", tc.name, resp.body, resp.header.Get("Content-Type"), resetSent)
			}
			if tc.wantTo == "" {
				if len(sent) != 0 {
					t.Errorf("%s: sent %+v, want nothing", tc.name, sent)
				}
				return
			}
			if len(sent) != 1 {
				t.Fatalf("%s: %d emails sent, want 1", tc.name, len(sent))
			}
			e := sent[0]
			if e.Template != "reset_email" || e.To != tc.wantTo || e.UserID != ada.ID || e.Connection != DefaultConnection ||
				e.ClientID != tc.wantClient || !e.At.Equal(clock.Now()) || !link.MatchString(e.Link) {
				t.Errorf("%s: email %+v, want reset_email to %s (%s, %s, client %q) at %v with a reset link", tc.name, e, tc.wantTo, ada.ID, DefaultConnection, tc.wantClient, clock.Now())
			}
			if last, ok := tn.LastEmailTo("ADA@example.com"); !ok || last != e {
				t.Errorf("%s: LastEmailTo %+v %v, want %+v", tc.name, last, ok, e)
			}
		})
	}
	if got := tn.SentTo("ada@example.com"); got != 4 {
		t.Errorf("SentTo(ada): %d, want 4", got)
	}
	if got := tn.SentTo("grace@example.com"); got != 0 {
		t.Errorf("SentTo(grace): %d, want 0", got)
	}
	if _, ok := tn.LastEmailTo("nobody@example.com"); ok {
		t.Errorf("LastEmailTo(nobody): found an email")
	}
	out := tn.Outbox()
	out[0].To = "changed@example.com"
	if tn.Outbox()[0].To != "ada@example.com" {
		t.Errorf("Outbox: the stored email changed through a returned copy")
	}
	tn.ResetOutbox()
	if len(tn.Outbox()) != 0 || tn.SentTo("ada@example.com") != 0 {
		t.Errorf("ResetOutbox: outbox still holds %d emails", len(tn.Outbox()))
	}
}

func TestChangePasswordRateLimit(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now})
	c := httpClient(tn, 5*time.Second)
	tn.AddUser(UserSeed{Email: "ada@example.com"})
	tn.AddUser(UserSeed{Email: "grace@example.com"})
	send := func(email string) response {
		return call(t, c, http.MethodPost, tn.URL()+"/dbconnections/change_password", "",
			map[string]string{"email": email, "connection": DefaultConnection})
	}
	now := clock.Now().Unix()

	tests := []struct {
		name          string
		email         string
		advance       time.Duration
		repeat        int // extra identical requests before the checked one
		wantStatus    int
		wantRemaining int
		wantReset     int64
	}{
		{name: "first", email: "ada@example.com", wantStatus: 200, wantRemaining: 9, wantReset: now + 60},
		{name: "tenth", email: "ada@example.com", repeat: 8, wantStatus: 200, wantRemaining: 0, wantReset: now + 600},
		{name: "eleventh", email: "ada@example.com", wantStatus: 429, wantRemaining: 0, wantReset: now + 600},
		{name: "another address is counted apart", email: "grace@example.com", wantStatus: 200, wantRemaining: 9, wantReset: now + 60},
		{name: "a minute later one more", email: "ada@example.com", advance: time.Minute, wantStatus: 200, wantRemaining: 0, wantReset: now + 660},
		{name: "and no more", email: "ada@example.com", wantStatus: 429, wantRemaining: 0, wantReset: now + 660},
		{name: "unknown address is limited too", email: "nobody@example.com", repeat: 10, wantStatus: 429, wantRemaining: 0, wantReset: now + 660},
	}
	for _, tc := range tests {
		clock.Advance(tc.advance)
		for range tc.repeat {
			send(tc.email)
		}
		resp := send(tc.email)
		if resp.status != tc.wantStatus {
			t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
		}
		if got := resp.header.Get("X-Ratelimit-Limit"); got != "10" {
			t.Errorf("%s: x-ratelimit-limit %q, want 10", tc.name, got)
		}
		if got := resp.header.Get("X-Ratelimit-Remaining"); got != strconv.Itoa(tc.wantRemaining) {
			t.Errorf("%s: x-ratelimit-remaining %q, want %d", tc.name, got, tc.wantRemaining)
		}
		if got := resp.header.Get("X-Ratelimit-Reset"); got != strconv.FormatInt(tc.wantReset, 10) {
			t.Errorf("%s: x-ratelimit-reset %q, want %d", tc.name, got, tc.wantReset)
		}
		if tc.wantStatus == http.StatusTooManyRequests {
			if got := resp.json(t); got["error"] != "too_many_requests" {
				t.Errorf("%s: body %s, want error too_many_requests", tc.name, resp.body)
			}
		}
	}
	if got := tn.SentTo("ada@example.com"); got != 11 {
		t.Errorf("SentTo(ada): %d, want 11 (refused requests send nothing)", got)
	}
}

// TestChangePasswordRecorded replays the request of go-auth0's recording
// TestDatabaseChangePassword (its a.Database.ChangePassword; the SDK's
// authentication package itself needs a module this repository does not
// require) and checks the recorded answer.
func TestChangePasswordRecorded(t *testing.T) {
	tn := NewT(t, Config{ClientID: "test-client_id"})
	c := httpClient(tn, 5*time.Second)
	u := tn.AddUser(UserSeed{Email: "mytestaccount@example.com"})
	req, err := http.NewRequest(http.MethodPost, tn.URL()+"/dbconnections/change_password",
		strings.NewReader(`{"client_id":"test-client_id","email":"mytestaccount@example.com","connection":"Username-Password-Authentication"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "We've just sent you an email to reset your password." ||
		resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("answer %d %q (%s), want the recorded 200 text/html sentence", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	if e, ok := tn.LastEmailTo(u.Email); !ok || e.UserID != u.ID || e.ClientID != "test-client_id" {
		t.Errorf("email %+v %v, want one to %s from test-client_id", e, ok, u.ID)
	}
}
