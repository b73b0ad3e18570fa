package auth0test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPasswordChangeTicket(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	marked := tn.AddUser(UserSeed{Email: "ada@example.com"})
	plain := tn.AddUser(UserSeed{Email: "grace@example.com"})
	ticketURL := regexp.MustCompile(`^` + regexp.QuoteMeta(tn.URL()) + `/u/reset-password\?ticket=[A-Za-z0-9]{32}#$`)

	tests := []struct {
		name         string
		body         map[string]any
		wantStatus   int
		completeAt   time.Duration // when the person uses the ticket, from now
		wantComplete bool
		wantVerified bool
	}{
		{name: "marks the email verified", body: map[string]any{"user_id": marked.ID, "result_url": "https://app.example.com/done",
			"ttl_sec": 3600, "mark_email_as_verified": true}, wantStatus: 201, completeAt: time.Minute, wantComplete: true, wantVerified: true},
		{name: "leaves email_verified alone", body: map[string]any{"user_id": plain.ID, "ttl_sec": 3600,
			"mark_email_as_verified": false, "includeEmailInRedirect": false}, wantStatus: 201, completeAt: time.Minute, wantComplete: true},
		{name: "expired", body: map[string]any{"user_id": plain.ID, "ttl_sec": 60}, wantStatus: 201, completeAt: time.Hour},
		{name: "unknown user", body: map[string]any{"user_id": "auth0|000000000000000000000000"}, wantStatus: 404},
		{name: "no user", body: map[string]any{"result_url": "https://app.example.com/done"}, wantStatus: 400},
		{name: "negative ttl", body: map[string]any{"user_id": plain.ID, "ttl_sec": -1}, wantStatus: 400},
		{name: "result_url with client_id", body: map[string]any{"user_id": plain.ID, "result_url": "https://a.example/", "client_id": "x"}, wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/tickets/password-change", tok, tc.body)
			if resp.status != tc.wantStatus {
				t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusCreated {
				return
			}
			ticket, _ := resp.json(t)["ticket"].(string)
			if !ticketURL.MatchString(ticket) {
				t.Fatalf("%s: ticket %q, want %s", tc.name, ticket, ticketURL)
			}
			at := clock.Now().Add(tc.completeAt)
			u, ok := tn.CompleteTicket(ticket, at)
			if ok != tc.wantComplete {
				t.Fatalf("%s: CompleteTicket ok %v, want %v", tc.name, ok, tc.wantComplete)
			}
			if !ok {
				return
			}
			if !u.LastPasswordReset.Equal(at) || u.EmailVerified != tc.wantVerified {
				t.Errorf("%s: after the ticket: reset %v verified %v, want %v and %v", tc.name, u.LastPasswordReset, u.EmailVerified, at, tc.wantVerified)
			}
			if _, again := tn.CompleteTicket(ticket, at); again {
				t.Errorf("%s: a ticket worked twice", tc.name)
			}
		})
	}
}

func TestCertificate(t *testing.T) {
	tn, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(tn.CAFile())
	if err != nil {
		t.Fatalf("read CA file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("CA file holds no certificate: %s", pemBytes)
	}
	_, port, _ := strings.Cut(tn.Domain(), ":")
	for _, name := range []string{"127.0.0.1", "localhost"} {
		conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: name})
		if err != nil {
			t.Errorf("TLS as %s with the CA file: %v", name, err)
			continue
		}
		_ = conn.Close()
	}
	if _, err := tls.Dial("tcp", tn.Domain(), &tls.Config{ServerName: "example.com", RootCAs: pool}); err == nil {
		t.Errorf("the certificate is valid for example.com, want only loopback names")
	}
	if _, err := tls.Dial("tcp", tn.Domain(), &tls.Config{}); err == nil {
		t.Errorf("the system roots trust the emulator")
	}
	tn.Close()
	if _, err := os.Stat(tn.CAFile()); !os.IsNotExist(err) {
		t.Errorf("CA file still there after Close: %v", err)
	}
}
