package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// provisionEnv is the environment of the provision and pending add commands: a real
// Redis and the tenant emulator.
func provisionEnv(t *testing.T, cfg auth0test.Config) (*store.Redis, *auth0test.Tenant, map[string]string) {
	t.Helper()
	r, env := cliStore(t)
	tenant := auth0test.NewT(t, cfg)
	env["MAILPROOF_AUTH0_DOMAIN"] = tenant.Domain()
	env["MAILPROOF_AUTH0_CLIENT_ID"] = tenant.ClientID()
	env["MAILPROOF_AUTH0_CLIENT_SECRET"] = tenant.ClientSecret()
	env["MAILPROOF_AUTH0_CA_FILE"] = tenant.CAFile()
	env["MAILPROOF_AUTH0_RATE"] = "1000"
	return r, tenant, env
}

func TestProvisionCommand(t *testing.T) {
	r, tenant, env := provisionEnv(t, auth0test.Config{})
	out, errOut, err := runStoreCommand(t, provisionCmd, env, "--email", "Grace@Example.com", "--name", "Grace Hopper", "--json")
	if err != nil {
		t.Fatalf("provision: %v\n%s", err, errOut)
	}
	var res struct {
		Status string       `json:"status"`
		Record store.Record `json:"record"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Status != "created" || res.Record.Deliveries != 1 {
		t.Fatalf("provision answer %s (%v): want created with one delivery", out, err)
	}
	if strings.Contains(errOut, "grace@example.com") {
		t.Errorf("the command logged a full address: %s", errOut)
	}
	if n := tenant.SentTo("grace@example.com"); n != 1 {
		t.Errorf("%d reset emails, want 1", n)
	}
	entries, _ := r.Audit(t.Context(), res.Record.UserID, 10)
	if len(entries) != 2 || entries[0].By != store.AuditByCLI {
		t.Errorf("audit %+v: want provisioned and delivered by the CLI", entries)
	}

	// The same command again sends nothing; a resend does.
	if out, _, err := runStoreCommand(t, provisionCmd, env, "--email", "grace@example.com"); err != nil || !strings.HasPrefix(out, "unchanged") {
		t.Errorf("second run: %q, %v; want unchanged", out, err)
	}
	// Auth0 sends one reset email a minute to an address: a resend right away is refused
	// before anything is sent.
	if _, _, err := runStoreCommand(t, provisionCmd, env, "--resend", res.Record.UserID); err == nil || !strings.Contains(err.Error(), "one reset email a minute") || tenant.SentTo("grace@example.com") != 1 {
		t.Errorf("resend within the minute: %v, %d emails; want a refusal and still 1", err, tenant.SentTo("grace@example.com"))
	}
	// A ticket is not an email: it can be had at once.
	if out, errOut, err := runStoreCommand(t, provisionCmd, env, "--resend", res.Record.UserID, "--delivery", "ticket"); err != nil || !strings.Contains(out, "ticket\thttps://") {
		t.Errorf("resend as a ticket: %q, %v %s; want a ticket URL", out, err, errOut)
	}

	// A user mailproof did not create is refused with its id, and adopted on request.
	olga := tenant.AddUser(auth0test.UserSeed{Email: "olga@example.com"})
	if _, _, err := runStoreCommand(t, provisionCmd, env, "--email", "olga@example.com"); err == nil || !strings.Contains(err.Error(), olga.ID) {
		t.Errorf("existing user: %v, want user_exists naming %s", err, olga.ID)
	}
	if out, _, err := runStoreCommand(t, provisionCmd, env, "--email", "olga@example.com", "--adopt"); err != nil || !strings.HasPrefix(out, "adopted") {
		t.Errorf("adopt: %q, %v", out, err)
	}

	// Usage mistakes exit as usage errors.
	for _, args := range [][]string{{}, {"--email", "a@example.com", "--resend", "auth0|x"}, {"extra"}} {
		if _, _, err := runStoreCommand(t, provisionCmd, env, args...); err != errUsage {
			t.Errorf("provision %q: %v, want a usage error", args, err)
		}
	}
}

func TestPendingAdd(t *testing.T) {
	_, tenant, env := provisionEnv(t, auth0test.Config{})
	ok := tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	verified := tenant.AddUser(auth0test.UserSeed{Email: "vera@example.com", EmailVerified: true})
	out, errOut, err := runStoreCommand(t, pendingGroup().dispatch, env, "add", ok.ID, verified.ID, "auth0|a\u200bb")
	if err == nil || !strings.Contains(err.Error(), "2 of 3") {
		t.Errorf("pending add: %v, want 2 of 3 not registered", err)
	}
	if !strings.Contains(out, "registered\t"+ok.ID) || !strings.Contains(errOut, "already verified") || !strings.Contains(errOut, "control characters") {
		t.Errorf("pending add output %q / %q: want the good one registered, the verified and the malformed ones refused with reasons", out, errOut)
	}
	if out, _, err := runStoreCommand(t, pendingGroup().dispatch, env, "add", ok.ID); err != nil || !strings.HasPrefix(out, "already pending") {
		t.Errorf("pending add again: %q, %v; want already pending", out, err)
	}
}

// TestProvisionCSVResumesWithoutDoubles: a CSV run interrupted by an Auth0 outage is
// finished by running the same command again, and the emulator counts one create and one
// email per address.
func TestProvisionCSVResumesWithoutDoubles(t *testing.T) {
	_, tenant, env := provisionEnv(t, auth0test.Config{})
	dir := t.TempDir()
	file := filepath.Join(dir, "people.csv")
	var b strings.Builder
	b.WriteString("\ufeffemail,name\r\n")
	for _, e := range []string{"a1@example.com", "a2@example.com", "a3@example.com", "a4@example.com", "a5@example.com", "a6@example.com"} {
		b.WriteString(e + ",\"Person, " + e[:2] + "\"\r\n")
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// The outage: every second create fails with a 503, and one reset email with a 500.
	tenant.Inject(auth0test.Fault{Method: "POST", PathPrefix: "/api/v2/users", Status: 503, Times: 2})
	tenant.Inject(auth0test.Fault{Method: "POST", PathPrefix: "/dbconnections/change_password", Status: 500, Times: 1})
	if _, _, err := runStoreCommand(t, provisionCmd, env, "--csv", file, "--concurrency", "2"); err == nil {
		t.Errorf("first run with failures: nil error, want one saying rows failed")
	}
	if _, errOut, err := runStoreCommand(t, provisionCmd, env, "--csv", file, "--concurrency", "2"); err != nil {
		t.Fatalf("second run: %v\n%s", err, errOut)
	}
	for i := 1; i <= 6; i++ {
		addr := "a" + string(rune('0'+i)) + "@example.com"
		if n := len(tenant.UsersByEmail(addr)); n != 1 {
			t.Errorf("%s: %d users, want 1", addr, n)
		}
		if n := tenant.SentTo(addr); n != 1 {
			t.Errorf("%s: %d emails, want 1", addr, n)
		}
	}
	results, err := os.ReadFile(file + ".results.csv")
	if err != nil || strings.Count(string(results), "\n") != 7 {
		t.Errorf("results file %q, %v: want a header and six rows", results, err)
	}
}
