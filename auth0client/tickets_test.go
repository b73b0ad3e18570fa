package auth0client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestPasswordChangeTicket(t *testing.T) {
	tn, clk := newTenant(t)
	c := newClient(t, tn, nil)
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})

	tests := []struct {
		name      string
		userID    string
		resultURL string
		ttl       time.Duration
		wantErr   error
		wantBody  map[string]any // the request as recorded
	}{
		{name: "with result url and ttl", userID: u.ID, resultURL: "https://app.example.com/welcome", ttl: 36 * time.Hour,
			wantBody: map[string]any{"user_id": u.ID, "result_url": "https://app.example.com/welcome", "ttl_sec": float64(129600),
				"mark_email_as_verified": false, "includeEmailInRedirect": false}},
		{name: "ttl rounded up, default result", userID: u.ID, ttl: 1500 * time.Millisecond,
			wantBody: map[string]any{"user_id": u.ID, "ttl_sec": float64(2), "mark_email_as_verified": false, "includeEmailInRedirect": false}},
		{name: "default ttl", userID: u.ID,
			wantBody: map[string]any{"user_id": u.ID, "mark_email_as_verified": false, "includeEmailInRedirect": false}},
		{name: "unknown user", userID: "auth0|000000000000000000000000", wantErr: auth0client.ErrUserNotFound},
		{name: "negative ttl", userID: u.ID, ttl: -time.Second, wantErr: auth0client.ErrPermanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn.ResetCalls()
			ticket, err := c.PasswordChangeTicket(context.Background(), tc.userID, tc.resultURL, tc.ttl)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("%s: error %v, want %v", tc.name, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !strings.HasPrefix(ticket, tn.URL()+"/u/reset-password?ticket=") {
				t.Errorf("%s: ticket %q, want a reset-password link on the tenant", tc.name, ticket)
			}
			var got map[string]any
			var calls []auth0test.Call
			for _, call := range tn.Calls() {
				if call.Path == "/api/v2/tickets/password-change" {
					calls = append(calls, call)
				}
			}
			if len(calls) != 1 || json.Unmarshal(calls[0].Body, &got) != nil {
				t.Fatalf("%s: calls %+v, want one ticket request", tc.name, calls)
			}
			if len(got) != len(tc.wantBody) {
				t.Errorf("%s: request %v, want %v", tc.name, got, tc.wantBody)
			}
			for k, v := range tc.wantBody {
				if got[k] != v {
					t.Errorf("%s: request %s = %v, want %v", tc.name, k, got[k], v)
				}
			}
			// Using the ticket resets the password but leaves the verdict
			// on the mailbox to mailproof.
			after, ok := tn.CompleteTicket(ticket, clk.Now())
			if !ok || after.EmailVerified || !after.LastPasswordReset.Equal(clk.Now()) {
				t.Errorf("%s: after the ticket %+v (ok %v), want reset and still unverified", tc.name, after, ok)
			}
		})
	}
}

func TestSendResetEmail(t *testing.T) {
	tests := []struct {
		name       string
		fault      auth0test.Fault
		connection string
		want       error
	}{
		{name: "sent", connection: auth0test.DefaultConnection},
		{name: "unknown connection", connection: "Nope", want: auth0client.ErrPermanent},
		{name: "rate limited", connection: auth0test.DefaultConnection, fault: auth0test.Fault{PathPrefix: "/dbconnections/", Status: 429}, want: auth0client.ErrRateLimited},
		{name: "server error", connection: auth0test.DefaultConnection, fault: auth0test.Fault{PathPrefix: "/dbconnections/", Status: 500}, want: auth0client.ErrTransient},
		{name: "dropped", connection: auth0test.DefaultConnection, fault: auth0test.Fault{PathPrefix: "/dbconnections/", Drop: true}, want: auth0client.ErrTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn, _ := newTenant(t)
			c := newClient(t, tn, nil)
			tn.Inject(tc.fault)
			err := c.SendResetEmail(context.Background(), "ada@example.com", tc.connection)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "ada@example.com") {
				t.Errorf("%s: error %q holds the full email address", tc.name, err)
			}
			calls := tn.Calls()
			if len(calls) != 1 || calls[0].Method != http.MethodPost || calls[0].Path != "/dbconnections/change_password" {
				t.Fatalf("%s: calls %+v, want one change_password request", tc.name, calls)
			}
			var body map[string]string
			if err := json.Unmarshal(calls[0].Body, &body); err != nil {
				t.Fatalf("%s: body %s: %v", tc.name, calls[0].Body, err)
			}
			want := map[string]string{"client_id": tn.ClientID(), "email": "ada@example.com", "connection": tc.connection}
			if len(body) != len(want) || body["client_id"] != want["client_id"] || body["email"] != want["email"] || body["connection"] != want["connection"] {
				t.Errorf("%s: request %v, want %v", tc.name, body, want)
			}
		})
	}
}
