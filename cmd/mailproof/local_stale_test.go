package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store/redistest"
)

func TestStaleLocalEnv(t *testing.T) {
	goneCA := filepath.Join(t.TempDir(), "auth0test-123", "ca.pem")
	liveCA := writeFile(t, "ca.pem", "-----BEGIN CERTIFICATE-----\n")
	deadRedis := "redis://" + freeAddr(t) + "/0"
	// earlier is what an earlier local printed: its emulator's CA is gone and nothing
	// listens where its embedded Redis did.
	earlier := map[string]string{
		"MAILPROOF_REDIS_URL":           deadRedis,
		"MAILPROOF_AUTH0_DOMAIN":        "127.0.0.1:41234",
		"MAILPROOF_AUTH0_CLIENT_ID":     "emulator-client",
		"MAILPROOF_AUTH0_CLIENT_SECRET": "emulator-secret",
		"MAILPROOF_AUTH0_CA_FILE":       goneCA,
		"MAILPROOF_WEBHOOK_SECRETS":     testWebhookSecret,
		"MAILPROOF_ADMIN_TOKEN":         "mpadm_0123456789abcdef",
		"MAILPROOF_LISTEN":              "127.0.0.1:8080",
		"MAILPROOF_OPS_LISTEN":          "127.0.0.1:9090",
		"MAILPROOF_URL":                 "http://127.0.0.1:8080",
	}
	with := func(changes map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range earlier {
			env[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(env, k)
				continue
			}
			env[k] = v
		}
		return env
	}
	emulator := []string{"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET", "MAILPROOF_AUTH0_CA_FILE"}
	tests := []struct {
		name       string
		env        map[string]string
		wantIgnore []string
		wantWhy    []string
	}{
		{name: "a fresh shell", env: map[string]string{}},
		{name: "an earlier run's exports", env: earlier, wantIgnore: append(slices.Clone(emulator), "MAILPROOF_REDIS_URL"),
			wantWhy: []string{"CA file " + goneCA + " is gone", "nothing answers at the embedded Redis address"}},
		{name: "a real tenant with a missing CA file is a mistake, not a leftover",
			env: map[string]string{"MAILPROOF_AUTH0_DOMAIN": "acme.eu.auth0.com", "MAILPROOF_AUTH0_CA_FILE": goneCA}},
		{name: "an emulator that still runs", env: with(map[string]string{"MAILPROOF_AUTH0_CA_FILE": liveCA}),
			wantIgnore: []string{"MAILPROOF_REDIS_URL"}},
		{name: "a Redis that answers is kept", env: with(map[string]string{"MAILPROOF_REDIS_URL": redistest.URL(t)}),
			wantIgnore: emulator},
		{name: "a Redis with a password is one's own", env: with(map[string]string{"MAILPROOF_REDIS_URL": strings.Replace(deadRedis, "//", "//:pw@", 1)}),
			wantIgnore: emulator},
		{name: "a Redis down without local's exports around it fails as before",
			env: map[string]string{"MAILPROOF_REDIS_URL": deadRedis, "MAILPROOF_LISTEN": "127.0.0.1:8080"}},
		{name: "an earlier run against a real tenant",
			env:        with(map[string]string{"MAILPROOF_AUTH0_DOMAIN": "acme.eu.auth0.com", "MAILPROOF_AUTH0_CA_FILE": ""}),
			wantIgnore: []string{"MAILPROOF_REDIS_URL"}},
	}
	for _, tc := range tests {
		ignore, why := staleLocalEnv(func(k string) string { return tc.env[k] })
		if !slices.Equal(ignore, tc.wantIgnore) {
			t.Errorf("%s: ignores %v, want %v", tc.name, ignore, tc.wantIgnore)
		}
		joined := strings.Join(why, "; ")
		for _, w := range tc.wantWhy {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: reasons %q lack %q", tc.name, joined, w)
			}
		}
	}
}

// TestLocalStartsInAShellWithAnEarlierRunsExports: the exports of a local run that has
// stopped, pasted into the shell, do not stop the next run: it says what it ignores,
// starts its own emulator and Redis, and keeps the exports that still work.
func TestLocalStartsInAShellWithAnEarlierRunsExports(t *testing.T) {
	first := map[string]string{"MAILPROOF_LISTEN": "127.0.0.1:0", "MAILPROOF_OPS_LISTEN": "127.0.0.2:0"}
	stdout, cancel, done := startLocal(t, first)
	earlier := parseExports(stdout.String())
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("first local: %v", err)
	}
	if _, err := os.Stat(earlier["MAILPROOF_AUTH0_CA_FILE"]); !os.IsNotExist(err) {
		t.Fatalf("the first run's CA file is still there (%v): the test needs it gone", err)
	}

	// The earlier addresses would be taken again: port 0 keeps other tests' listeners
	// out of the way.
	env := parseExports(stdout.String())
	env["MAILPROOF_LISTEN"], env["MAILPROOF_OPS_LISTEN"] = "127.0.0.1:0", "127.0.0.2:0"
	stdout, stderr, cancel, done := startLocalStderr(t, env)
	defer cancel()
	now := parseExports(stdout.String())
	for _, want := range []string{"still holds the exports of an earlier local run", earlier["MAILPROOF_AUTH0_CA_FILE"] + " is gone",
		"ignoring MAILPROOF_AUTH0_DOMAIN, MAILPROOF_AUTH0_CLIENT_ID, MAILPROOF_AUTH0_CLIENT_SECRET, MAILPROOF_AUTH0_CA_FILE, MAILPROOF_REDIS_URL"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	for _, k := range []string{"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CA_FILE", "MAILPROOF_REDIS_URL"} {
		if now[k] == earlier[k] {
			t.Errorf("%s is still the earlier run's %q", k, now[k])
		}
	}
	for _, k := range []string{"MAILPROOF_WEBHOOK_SECRETS", "MAILPROOF_ADMIN_TOKEN"} {
		if now[k] != earlier[k] {
			t.Errorf("%s changed: an export that still works wins as any set variable does", k)
		}
	}
	if !strings.Contains(stdout.String(), "(bundled emulator, started by mailproof local)") {
		t.Errorf("local does not run its own emulator:\n%s", stdout.String())
	}
	resp, err := http.Get("http://" + now["MAILPROOF_OPS_LISTEN"] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz %d, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("local after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("local did not stop after cancel")
	}
}

// TestLocalRefusesAMissingCAFileForARealTenant: only the emulator's leftovers are
// ignored; a CA file missing for a tenant of one's own is still an error.
func TestLocalRefusesAMissingCAFileForARealTenant(t *testing.T) {
	env := map[string]string{"MAILPROOF_LISTEN": "127.0.0.1:0", "MAILPROOF_OPS_LISTEN": "127.0.0.2:0",
		"MAILPROOF_AUTH0_DOMAIN": "acme.eu.auth0.com", "MAILPROOF_AUTH0_CLIENT_ID": "id", "MAILPROOF_AUTH0_CLIENT_SECRET": "secret",
		"MAILPROOF_AUTH0_CA_FILE": filepath.Join(t.TempDir(), "ca.pem")}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"local"}, func(k string) string { return env[k] }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "MAILPROOF_AUTH0_CA_FILE: cannot read") {
		t.Errorf("error %v, want the missing CA file named", err)
	}
	if strings.Contains(stderr.String(), "earlier local run") {
		t.Errorf("stderr calls a real tenant's settings an earlier run's:\n%s", stderr.String())
	}
}
