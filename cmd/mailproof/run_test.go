package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store/redistest"
)

// TestMain shares one redis-server with AOF on among the tests: serve refuses a Redis
// without AOF unless told to relax (MAILPROOF_REDIS_DURABILITY), and the tests run it
// the way production must. With mainChildEnv set, the test binary is the mailproof
// binary instead: main runs with the arguments and environment the test gave it.
func TestMain(m *testing.M) {
	if os.Getenv(mainChildEnv) == "1" {
		main()
	}
	redistest.Main(m, "--appendonly", "yes")
}

const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer lets the test read what run writes from another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveEnv is a complete environment for serve against a real Redis and the emulator.
func serveEnv(t *testing.T) map[string]string {
	env, _ := serveEnvTenant(t)
	return env
}

// serveEnvTenant is serveEnv with the emulated tenant, for tests that seed users.
func serveEnvTenant(t *testing.T) (map[string]string, *auth0test.Tenant) {
	tenant := auth0test.NewT(t, auth0test.Config{})
	return map[string]string{
		"MAILPROOF_REDIS_URL":           redistest.URL(t),
		"MAILPROOF_AUTH0_DOMAIN":        tenant.Domain(),
		"MAILPROOF_AUTH0_CLIENT_ID":     tenant.ClientID(),
		"MAILPROOF_AUTH0_CLIENT_SECRET": tenant.ClientSecret(),
		"MAILPROOF_AUTH0_CA_FILE":       tenant.CAFile(),
		"MAILPROOF_WEBHOOK_SECRETS":     testWebhookSecret,
		"MAILPROOF_LISTEN":              freeAddr(t),
		"MAILPROOF_OPS_LISTEN":          freeAddr(t),
		"MAILPROOF_SHUTDOWN_GRACE":      "5s",
	}, tenant
}

// startServe runs `mailproof serve` with env until cancel, once /readyz answers 200;
// stderr is its log, done yields run's error after cancel.
func startServe(t *testing.T, env map[string]string) (stderr *syncBuffer, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // also when waitReady fails the test
	stderr = new(syncBuffer)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, stderr)
	}()
	waitReady(t, env["MAILPROOF_OPS_LISTEN"], errc, stderr)
	return stderr, cancel, errc
}

// waitReady polls /readyz until it answers 200 or run returns.
func waitReady(t *testing.T, opsAddr string, done <-chan error, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run returned before it was ready: %v\n%s", err, stderr)
		default:
		}
		resp, err := http.Get("http://" + opsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz never answered 200\n%s", stderr)
}

func TestServeStartsReadyAndStopsCleanly(t *testing.T) {
	env := serveEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &stdout, &stderr) }()
	waitReady(t, env["MAILPROOF_OPS_LISTEN"], done, &stderr)

	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get("http://" + env["MAILPROOF_OPS_LISTEN"] + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", path, resp.StatusCode)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v, want a clean exit\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", env["MAILPROOF_LISTEN"], time.Second); err == nil {
		t.Error("main listener still accepts connections after shutdown")
	}
	if strings.Contains(stderr.String(), env["MAILPROOF_AUTH0_CLIENT_SECRET"]) || strings.Contains(stderr.String(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
		t.Error("the log contains a secret")
	}
}

func TestServeWithNothingSetNamesEveryMissingVariable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve"}, func(string) string { return "" }, &stdout, &stderr)
	if err == nil {
		t.Fatal("serve with an empty environment succeeded")
	}
	for _, name := range []string{"MAILPROOF_REDIS_URL", "MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET", "MAILPROOF_WEBHOOK_SECRETS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestServeWithBadConfigListensNowhere(t *testing.T) {
	env := serveEnv(t)
	env["MAILPROOF_WEBHOOK_SECRETS"] = "whsec_tooshort"
	err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, new(bytes.Buffer), new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), "MAILPROOF_WEBHOOK_SECRETS") {
		t.Fatalf("error %v, want one naming MAILPROOF_WEBHOOK_SECRETS", err)
	}
	if _, err := net.DialTimeout("tcp", env["MAILPROOF_OPS_LISTEN"], time.Second); err == nil {
		t.Error("ops listener accepts connections although the configuration is invalid")
	}
}

func TestUnknownCommand(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, new(bytes.Buffer), &stderr)
	if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "unknown command") {
		t.Errorf("error %v, stderr %q; want errUsage and a hint", err, stderr.String())
	}
}

func TestServeRefusesAnEvictingRedis(t *testing.T) {
	env := serveEnv(t)
	srv := redistest.Dedicated(t, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
	env["MAILPROOF_REDIS_URL"] = srv.URL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr syncBuffer
	err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, new(bytes.Buffer), &stderr)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("serve against an allkeys-lru Redis: error %v (context %v), want a refusal", err, ctx.Err())
	}
	if !strings.Contains(err.Error(), "noeviction") {
		t.Errorf("error %q does not tell the operator to set noeviction", err)
	}
}

func TestServeAppliesThePendingTTL(t *testing.T) {
	env, tenant := serveEnvTenant(t)
	env["MAILPROOF_ADMIN_TOKEN"] = "test-admin-token-0123456789"
	env["MAILPROOF_PENDING_TTL"] = "2h"
	user := tenant.AddUser(auth0test.UserSeed{Email: "ttl@example.com", Connection: auth0test.DefaultConnection})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, new(bytes.Buffer), &stderr)
	}()
	waitReady(t, env["MAILPROOF_OPS_LISTEN"], done, &stderr)

	req, err := http.NewRequest(http.MethodPost, "http://"+env["MAILPROOF_LISTEN"]+"/v1/pending", strings.NewReader(`{"user_id":"`+user.ID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env["MAILPROOF_ADMIN_TOKEN"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec struct {
		ProvisionedAt time.Time `json:"provisioned_at"`
		ExpiresAt     time.Time `json:"expires_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rec); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: status %d, decode error %v\n%s", resp.StatusCode, err, stderr.String())
	}
	if got := rec.ExpiresAt.Sub(rec.ProvisionedAt); got != 2*time.Hour {
		t.Errorf("record expires %s after provisioning, want MAILPROOF_PENDING_TTL (2h)", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
}
