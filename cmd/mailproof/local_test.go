package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
)

// managementLimit is the x-ratelimit-limit of the Management API of the tenant env
// names.
func managementLimit(t *testing.T, env map[string]string) string {
	t.Helper()
	ca, err := os.ReadFile(env["MAILPROOF_AUTH0_CA_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, Timeout: 5 * time.Second}
	resp, err := c.Get("https://" + env["MAILPROOF_AUTH0_DOMAIN"] + "/api/v2/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Ratelimit-Limit")
}

// parseExports reads the export lines local printed into a map.
func parseExports(out string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env[k] = strings.Trim(v, "'")
	}
	return env
}

func TestLocalRunsWithNoConfigurationAndPrintsExports(t *testing.T) {
	fixed := map[string]string{
		"MAILPROOF_LISTEN":          "127.0.0.1:0",
		"MAILPROOF_OPS_LISTEN":      "127.0.0.2:0",
		"MAILPROOF_WEBHOOK_SECRETS": testWebhookSecret,
	}
	stdout, cancel, done := startLocal(t, fixed)
	defer cancel()
	env := parseExports(stdout.String())
	for _, k := range []string{"MAILPROOF_REDIS_URL", "MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET",
		"MAILPROOF_AUTH0_CA_FILE", "MAILPROOF_WEBHOOK_SECRETS", "MAILPROOF_ADMIN_TOKEN", "MAILPROOF_LISTEN", "MAILPROOF_OPS_LISTEN"} {
		if env[k] == "" {
			t.Errorf("no export line for %s in:\n%s", k, stdout.String())
		}
	}
	if env["MAILPROOF_WEBHOOK_SECRETS"] != testWebhookSecret {
		t.Errorf("webhook secret %q, want the one set in the environment", env["MAILPROOF_WEBHOOK_SECRETS"])
	}
	// The exports name the ports the listeners got, on the addresses asked for.
	if host, port, _ := strings.Cut(env["MAILPROOF_OPS_LISTEN"], ":"); host != "127.0.0.2" || port == "0" || port == "" {
		t.Errorf("ops listener %q, want 127.0.0.2 and the port it got", env["MAILPROOF_OPS_LISTEN"])
	}
	resp, err := http.Get("http://" + env["MAILPROOF_OPS_LISTEN"] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz %d, want 200", resp.StatusCode)
	}
	// The embedded Redis is not checked, and the ops pages say what it keeps.
	ops := "http://" + env["MAILPROOF_OPS_LISTEN"]
	if w := durabilityWarning(t, opsGet(t, ops+"/?format=json")); !strings.Contains(w, "keeps nothing across restarts") {
		t.Errorf("status warning %q, want it to say the embedded Redis keeps nothing across restarts", w)
	}
	if page := string(opsGet(t, ops+"/")); !strings.Contains(page, "keeps nothing across restarts") {
		t.Errorf("status page does not say the embedded Redis keeps nothing:\n%s", page)
	}

	// The bundled emulator has Auth0 Free's limits: a Management API bucket of 2.
	if got := managementLimit(t, env); got != "2" {
		t.Errorf("the emulator's x-ratelimit-limit %q, want Free's 2", got)
	}

	// The exported lines are enough for a CLI command in "another shell".
	var out bytes.Buffer
	if err := run(t.Context(), []string{"audit"}, func(k string) string { return env[k] }, &out, new(bytes.Buffer)); err != nil {
		t.Fatalf("audit against the local instance: %v", err)
	}
	if !strings.Contains(out.String(), "no audit entries") {
		t.Errorf("audit printed %q, want the empty-trail message", out.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("local after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("local did not stop after cancel")
	}
}

func TestLocalDemoFlipsOneUser(t *testing.T) {
	// Port 0: a port picked in advance can be taken by another package's test first. The
	// ops listener takes another loopback address, since the two must differ.
	fixed := map[string]string{"MAILPROOF_LISTEN": "127.0.0.1:0", "MAILPROOF_OPS_LISTEN": "127.0.0.2:0"}
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"local", "--demo"}, func(k string) string { return fixed[k] }, &stdout, &stderr)
	}()
	// The demo ends local by itself: 0 once the user reads back verified.
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("local --demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo never finished\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	for _, want := range []string{"mailproof provision --email", "created auth0|", `its record is "pending"`, "reset-password?ticket=",
		"chose a password", "logged in with that password", "queued", "Auth0 now reads back email_verified=true"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), "Chosen-by-Ada") {
		t.Errorf("the demo printed the password")
	}
}

// TestLocalIgnoresMinReplicasOnTheEmbeddedRedis: MAILPROOF_REDIS_MIN_REPLICAS left in the
// shell from a real deployment would have the demo's event answered 503; local says it
// ignores it and the demo flips its user.
func TestLocalIgnoresMinReplicasOnTheEmbeddedRedis(t *testing.T) {
	env := map[string]string{"MAILPROOF_LISTEN": "127.0.0.1:0", "MAILPROOF_OPS_LISTEN": "127.0.0.2:0", "MAILPROOF_REDIS_MIN_REPLICAS": "1"}
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"local", "--demo"}, func(k string) string { return env[k] }, &stdout, &stderr)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("local --demo with MAILPROOF_REDIS_MIN_REPLICAS=1: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo never finished\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "MAILPROOF_REDIS_MIN_REPLICAS=1 ignored") {
		t.Errorf("local did not say it ignores MAILPROOF_REDIS_MIN_REPLICAS:\n%s", stderr.String())
	}
}

// TestLocalDemoFailureExitsNonZero: a demo that cannot run ends local with an error.
func TestLocalDemoFailureExitsNonZero(t *testing.T) {
	tenant := auth0test.NewT(t, auth0test.Config{})
	fixed := map[string]string{"MAILPROOF_LISTEN": "127.0.0.1:0", "MAILPROOF_OPS_LISTEN": "127.0.0.2:0",
		"MAILPROOF_AUTH0_DOMAIN": tenant.Domain(), "MAILPROOF_AUTH0_CLIENT_ID": tenant.ClientID(),
		"MAILPROOF_AUTH0_CLIENT_SECRET": tenant.ClientSecret(), "MAILPROOF_AUTH0_CA_FILE": tenant.CAFile()}
	var stdout, stderr syncBuffer
	err := run(t.Context(), []string{"local", "--demo"}, func(k string) string { return fixed[k] }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--demo needs the bundled Auth0 emulator") {
		t.Errorf("local --demo against an emulator it did not start: %v, want an error saying why", err)
	}
}

func TestLocalNamesTheAuth0ItTalksTo(t *testing.T) {
	tests := []struct {
		name string
		// tenant: an emulator the test starts and names in MAILPROOF_AUTH0_DOMAIN; local
		// did not start it, so it must not call it bundled.
		tenant bool
		want   func(domain string) string
	}{
		{"bundled emulator", false, func(d string) string {
			return "  Auth0        https://" + d + " (bundled emulator, started by mailproof local)\n"
		}},
		{"MAILPROOF_AUTH0_DOMAIN set", true, func(d string) string {
			return "  Auth0        Auth0 tenant at " + d + " (from MAILPROOF_AUTH0_DOMAIN)\n"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fixed := map[string]string{"MAILPROOF_LISTEN": "127.0.0.1:0", "MAILPROOF_OPS_LISTEN": "127.0.0.2:0"}
			if tc.tenant {
				tenant := auth0test.NewT(t, auth0test.Config{})
				fixed["MAILPROOF_AUTH0_DOMAIN"] = tenant.Domain()
				fixed["MAILPROOF_AUTH0_CLIENT_ID"] = tenant.ClientID()
				fixed["MAILPROOF_AUTH0_CLIENT_SECRET"] = tenant.ClientSecret()
				fixed["MAILPROOF_AUTH0_CA_FILE"] = tenant.CAFile()
			}
			stdout, cancel, done := startLocal(t, fixed)
			defer cancel()
			out := stdout.String()
			if want := tc.want(parseExports(out)["MAILPROOF_AUTH0_DOMAIN"]); !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, want, out)
			}
			if tc.tenant && strings.Contains(out, "bundled") {
				t.Errorf("%s: calls an emulator it did not start bundled:\n%s", tc.name, out)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: local after cancel: %v", tc.name, err)
			}
		})
	}
}

func TestAuth0Label(t *testing.T) {
	tests := []struct {
		name    string
		domain  string
		bundled bool
		want    string
	}{
		{"bundled emulator", "127.0.0.1:41234", true, "https://127.0.0.1:41234 (bundled emulator, started by mailproof local)"},
		{"a real tenant", "acme.eu.auth0.com", false, "Auth0 tenant at acme.eu.auth0.com (from MAILPROOF_AUTH0_DOMAIN)"},
		{"an emulator local did not start", "127.0.0.1:41234", false, "Auth0 tenant at 127.0.0.1:41234 (from MAILPROOF_AUTH0_DOMAIN)"},
	}
	for _, tc := range tests {
		if got := auth0Label(tc.domain, tc.bundled); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// startLocal runs `mailproof local` with env until cancel, once it has announced it is
// ready; done yields run's error after cancel.
func startLocal(t *testing.T, env map[string]string) (stdout *syncBuffer, cancel func(), done <-chan error) {
	t.Helper()
	stdout, _, cancel, done = startLocalStderr(t, env)
	return stdout, cancel, done
}

// startLocalStderr is startLocal that also gives what local wrote on stderr.
func startLocalStderr(t *testing.T, env map[string]string) (stdout, stderr *syncBuffer, cancel func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = new(syncBuffer), new(syncBuffer)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"local"}, func(k string) string { return env[k] }, stdout, stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "Ctrl-C stops everything") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("local never announced it was ready\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("local returned early: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return stdout, stderr, cancel, errc
}
