package auth0client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestCredentials(t *testing.T) {
	tn, _ := newTenant(t)
	const wrong = "not-the-secret-at-all"
	c := newClient(t, tn, func(cfg *auth0client.Config) { cfg.ClientSecret = wrong })
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})

	for name, call := range map[string]func() error{
		"Ping":    func() error { return c.Ping(context.Background()) },
		"GetUser": func() error { _, err := c.GetUser(context.Background(), u.ID); return err },
	} {
		err := call()
		if !errors.Is(err, auth0client.ErrUnauthorized) || !errors.Is(err, auth0client.ErrTransient) {
			t.Errorf("%s with a wrong secret: %v, want ErrUnauthorized (and so ErrTransient)", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "401 access_denied: Unauthorized") || strings.Contains(msg, wrong) {
			t.Errorf("%s: error %q, want the token endpoint's answer and no secret", name, msg)
		}
	}
	if n := tn.CountCalls("", "/api/v2/"); n != 0 {
		t.Errorf("%d Management API calls without a token, want 0", n)
	}
}

func TestTokenReuse(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, nil)
	ctx := context.Background()
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})

	steps := []struct {
		name string
		run  func() error
	}{
		{"ping", func() error { return c.Ping(ctx) }},
		{"get", func() error { _, err := c.GetUser(ctx, u.ID); return err }},
		{"verify", func() error { _, err := c.VerifyEmail(ctx, u.ID); return err }},
		{"ticket", func() error { _, err := c.PasswordChangeTicket(ctx, u.ID, "", time.Hour); return err }},
		{"create", func() error {
			_, err := c.CreateUser(ctx, auth0client.CreateUser{Email: "grace@example.com", Connection: auth0test.DefaultConnection})
			return err
		}},
		{"ping again", func() error { return c.Ping(ctx) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	if n := tn.CountCalls(http.MethodPost, "/oauth/token"); n != 1 {
		t.Errorf("%d token requests, want 1 reused across %d calls", n, len(steps))
	}
	for _, call := range tn.Calls() {
		if call.UserAgent != auth0client.DefaultUserAgent {
			t.Errorf("%s %s: user agent %q, want %q", call.Method, call.Path, call.UserAgent, auth0client.DefaultUserAgent)
		}
	}
}

func TestTokenRenewedAfterRevocation(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, nil)
	ctx := context.Background()
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	if _, err := c.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	tn.RevokeTokens()

	if _, err := c.GetUser(ctx, u.ID); !errors.Is(err, auth0client.ErrUnauthorized) {
		t.Fatalf("call with a revoked token: %v, want ErrUnauthorized", err)
	}
	if _, err := c.GetUser(ctx, u.ID); err != nil {
		t.Fatalf("call after the rejection: %v, want a fresh token to work", err)
	}
	if n := tn.CountCalls(http.MethodPost, "/oauth/token"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

func TestPing(t *testing.T) {
	tests := []struct {
		name  string
		fault auth0test.Fault
		want  error
	}{
		{name: "healthy"},
		{name: "token endpoint down", fault: auth0test.Fault{PathPrefix: "/oauth/token", Status: 503}, want: auth0client.ErrTransient},
		{name: "token endpoint rate limited", fault: auth0test.Fault{PathPrefix: "/oauth/token", Status: 429}, want: auth0client.ErrRateLimited},
		{name: "token endpoint drops", fault: auth0test.Fault{PathPrefix: "/oauth/token", Drop: true}, want: auth0client.ErrTransient},
		{name: "token endpoint rejects the request", fault: auth0test.Fault{PathPrefix: "/oauth/token", Status: 400}, want: auth0client.ErrUnauthorized},
		{name: "management API down does not matter", fault: auth0test.Fault{PathPrefix: "/api/v2/", Status: 503}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn, _ := newTenant(t)
			c := newClient(t, tn, nil)
			tn.Inject(tc.fault)
			if err := c.Ping(context.Background()); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("%s: Ping %v, want %v", tc.name, err, tc.want)
			}
			if n := tn.CountCalls("", "/api/v2/"); n != 0 {
				t.Errorf("%s: Ping made %d Management API calls, want 0", tc.name, n)
			}
		})
	}

	tn, err := auth0test.Start(auth0test.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, tn, nil)
	tn.Close()
	if err := c.Ping(context.Background()); !errors.Is(err, auth0client.ErrTransient) {
		t.Errorf("Ping with the tenant gone: %v, want ErrTransient", err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, func(cfg *auth0client.Config) { cfg.CAFile = "" })
	err := c.Ping(context.Background())
	if !errors.Is(err, auth0client.ErrTransient) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Ping without trusting the emulator CA: %v, want a certificate error", err)
	}
	if n := tn.CountCalls("", ""); n != 0 {
		t.Errorf("%d calls got through an untrusted TLS handshake", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth0client.Config
		want []string
	}{
		{name: "empty", cfg: auth0client.Config{}, want: []string{"domain is empty", "client id is empty", "client secret is empty"}},
		{name: "missing CA file", cfg: auth0client.Config{Domain: "x", ClientID: "x", ClientSecret: "x", CAFile: "/nonexistent/ca.pem"},
			want: []string{"CA file"}},
		{name: "CA file without PEM", cfg: auth0client.Config{Domain: "x", ClientID: "x", ClientSecret: "x", CAFile: "errors_test.go"},
			want: []string{"no PEM certificate"}},
		{name: "negative timeout", cfg: auth0client.Config{Domain: "x", ClientID: "x", ClientSecret: "x", Timeout: -time.Second},
			want: []string{"negative"}},
	}
	for _, tc := range tests {
		_, err := auth0client.New(context.Background(), tc.cfg)
		if err == nil {
			t.Errorf("%s: New accepted %+v", tc.name, tc.cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q, want it to mention %q", tc.name, err, w)
			}
		}
	}
}
