package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// provisionedUser is a user as mailproof provisions one, an hour ago: unverified in the
// emulator with the marker in app_metadata, and a pending record in r.
func provisionedUser(t *testing.T, r *store.Redis, tenant *auth0test.Tenant, email string) auth0test.User {
	t.Helper()
	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	u := tenant.AddUser(auth0test.UserSeed{Email: email, Connection: auth0test.DefaultConnection, CreatedAt: at,
		AppMetadata: map[string]any{auth0client.ProvisionMarker: map[string]any{"provisioned_at": at.Format(time.RFC3339Nano)}}})
	if err := r.PutPending(t.Context(), store.Record{UserID: u.ID, Email: email, Connection: auth0test.DefaultConnection, ProvisionedAt: at}); err != nil {
		t.Fatalf("put pending %s: %v", u.ID, err)
	}
	return u
}

// lostLogin is the person's part of a login whose webhook never reached mailproof: the
// reset link followed, then a password login.
func lostLogin(t *testing.T, tenant *auth0test.Tenant, id string) {
	t.Helper()
	if !tenant.ResetPassword(id, time.Now().Add(-10*time.Minute)) {
		t.Fatalf("reset %s: no such user", id)
	}
	if _, ok := tenant.Login(id, time.Now().Add(-5*time.Minute)); !ok {
		t.Fatalf("log in %s: no such user", id)
	}
}

// openCLIStore opens the Redis a running instance uses, as a test's own client.
func openCLIStore(t *testing.T, url string) *store.Redis {
	t.Helper()
	r, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open redis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// waitVerified waits until the emulator reads the user back verified.
func waitVerified(t *testing.T, tenant *auth0test.Tenant, id string, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if u, _ := tenant.User(id); u.EmailVerified {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never verified\n%s", id, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeSweepsOnSchedule: serve sweeps at start (no sweep has succeeded yet), finds
// the login whose webhook was lost, and its worker flips it; the metrics say so.
func TestServeSweepsOnSchedule(t *testing.T) {
	env, tenant := serveEnvTenant(t)
	r := openCLIStore(t, env["MAILPROOF_REDIS_URL"])
	lost := provisionedUser(t, r, tenant, "lost@example.com")
	lostLogin(t, tenant, lost.ID)
	stderr, cancel, done := startServe(t, env)
	defer cancel()
	waitVerified(t, tenant, lost.ID, stderr.String)

	// The worker counts the job's outcome just after its PATCH lands, so the tenant can
	// show the user verified a moment before /metrics does: wait for the lines.
	want := []string{
		"mailproof_reconcile_interval_seconds 3600",
		`mailproof_reconcile_runs_total{path="search",result="ok"} 1`,
		`mailproof_reconcile_jobs_total{outcome="verified"} 1`,
	}
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + env["MAILPROOF_OPS_LISTEN"] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Errorf("/metrics lacks %q", m)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

// TestLocalSweeps: local mode runs the sweep on its embedded Redis too.
func TestLocalSweeps(t *testing.T) {
	tenant := auth0test.NewT(t, auth0test.Config{})
	fixed := map[string]string{"MAILPROOF_LISTEN": "127.0.0.1:0", "MAILPROOF_OPS_LISTEN": "127.0.0.2:0",
		"MAILPROOF_AUTH0_DOMAIN": tenant.Domain(), "MAILPROOF_AUTH0_CLIENT_ID": tenant.ClientID(),
		"MAILPROOF_AUTH0_CLIENT_SECRET": tenant.ClientSecret(), "MAILPROOF_AUTH0_CA_FILE": tenant.CAFile(),
		// Every second: the user is seeded after local's first sweep.
		"MAILPROOF_RECONCILE_INTERVAL": "1s"}
	stdout, cancel, done := startLocal(t, fixed)
	defer cancel()
	r := openCLIStore(t, parseExports(stdout.String())["MAILPROOF_REDIS_URL"])
	lost := provisionedUser(t, r, tenant, "lost@example.com")
	lostLogin(t, tenant, lost.ID)
	waitVerified(t, tenant, lost.ID, stdout.String)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("local after cancel: %v", err)
	}
}
