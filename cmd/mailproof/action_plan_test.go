package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

// strayValue is the value of a secret the dry run must name but never print.
const strayValue = "legacy-token-value-never-printed"

// deployDirect puts an Action in the tenant through the Management API, bypassing the
// command, with secrets the command would not set.
func deployDirect(t *testing.T, tenant *auth0test.Tenant, spec auth0client.ActionSpec) {
	t.Helper()
	c, err := auth0client.New(context.Background(), auth0client.Config{
		Domain: tenant.Domain(), ClientID: tenant.ClientID(), ClientSecret: tenant.ClientSecret(), CAFile: tenant.CAFile(),
	})
	if err != nil {
		t.Fatal(err)
	}
	spec.PollInterval = 5 * time.Millisecond
	if _, err := c.DeployAction(context.Background(), spec); err != nil {
		t.Fatalf("deploy %s: %v", spec.Name, err)
	}
}

func TestActionDeployDryRunChangesNothing(t *testing.T) {
	secret := newHMACSecret(t)
	cases := []struct {
		name     string
		prepare  func(t *testing.T, tenant *auth0test.Tenant, env map[string]string)
		noCreds  bool
		wantOut  []string
		wantRead bool
	}{
		{name: "without credentials it plans offline", noCreds: true,
			wantOut: []string{"tenant not read", "MAILPROOF_AUTH0_DOMAIN is not set", "would: update the Action"}},
		{name: "empty tenant", wantRead: true,
			wantOut: []string{"absent: would create it", "now: (none)", "after: 1. " + ourAction}},
		{name: "other Action bound", wantRead: true,
			prepare: func(t *testing.T, tenant *auth0test.Tenant, _ map[string]string) {
				bindOther(t, tenant, "acme-risk-check")
			},
			wantOut: []string{"absent: would create it", "now: 1. acme-risk-check", "after: 1. acme-risk-check, 2. " + ourAction}},
		{name: "already deployed", wantRead: true,
			prepare: func(t *testing.T, tenant *auth0test.Tenant, env map[string]string) {
				bindOther(t, tenant, "acme-risk-check")
				if _, stderr, err := runAction(t, env, "deploy", "--url", "https://mailproof.example.com"); err != nil {
					t.Fatalf("deploy: %v\n%s", err, stderr)
				}
			},
			wantOut: []string{"deployed version 1 is the same as this code, with these secrets: unchanged, a deploy would deploy nothing", "already bound (position 2 of 2)"}},
		{name: "older code with a stray secret", wantRead: true,
			prepare: func(t *testing.T, tenant *auth0test.Tenant, _ map[string]string) {
				deployDirect(t, tenant, auth0client.ActionSpec{Name: ourAction, Code: "// older",
					Secrets: map[string]string{"LEGACY_TOKEN": strayValue, "MAILPROOF_URL": "https://old.example.com/v1/events/post-login"}})
			},
			wantOut: []string{"deployed version 1 differs from this code", "would remove LEGACY_TOKEN", "already bound (position 1 of 1)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tenant := actionTenant(t)
			env := actionEnv(tenant, secret)
			if tc.prepare != nil {
				tc.prepare(t, tenant, env)
			}
			before, hadAction := tenant.Action(ourAction)
			bindings := tenant.Bindings("post-login")
			writesBefore, callsBefore := writes(tenant), len(tenant.Calls())
			if tc.noCreds {
				env = map[string]string{"MAILPROOF_WEBHOOK_SECRETS": secret}
			}

			stdout, stderr, err := runAction(t, env, "deploy", "--dry-run", "--url", "https://mailproof.example.com")
			if err != nil {
				t.Fatalf("dry run: %v\nstderr: %s", err, stderr)
			}
			for _, want := range append(tc.wantOut, "nothing changed", "node22", "post-login v3", "MAILPROOF_URL, MAILPROOF_SECRET",
				"https://mailproof.example.com/v1/events/post-login") {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if strings.Contains(stdout+stderr, secret) || strings.Contains(stdout+stderr, strayValue) {
				t.Error("output contains a secret value")
			}
			if got := writes(tenant) - writesBefore; got != 0 {
				t.Errorf("%d Management API writes during the dry run, want 0", got)
			}
			if read := len(tenant.Calls()) > callsBefore; read != tc.wantRead {
				t.Errorf("dry run called the tenant: %t, want %t", read, tc.wantRead)
			}
			after, hasAction := tenant.Action(ourAction)
			if hasAction != hadAction || after.DeployedVersion != before.DeployedVersion || after.Code != before.Code {
				t.Errorf("Action changed: exists %t→%t, version %d→%d", hadAction, hasAction, before.DeployedVersion, after.DeployedVersion)
			}
			if got := tenant.Bindings("post-login"); !slices.Equal(got, bindings) {
				t.Errorf("bindings %v, want them unchanged: %v", got, bindings)
			}
		})
	}
}

func TestActionDeployDryRunTenantErrors(t *testing.T) {
	secret := newHMACSecret(t)
	cases := []struct {
		name    string
		fault   auth0test.Fault
		env     map[string]string // changes to the good environment
		wantErr []string
	}{
		{name: "tenant answers 500", fault: auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/actions/", Status: 500},
			wantErr: []string{"read the tenant", "temporary failure"}},
		{name: "wrong client secret", env: map[string]string{"MAILPROOF_AUTH0_CLIENT_SECRET": "not-the-secret"},
			wantErr: []string{"read the tenant", "not authorized"}},
		{name: "CA file missing", env: map[string]string{"MAILPROOF_AUTH0_CA_FILE": "/nonexistent/ca.pem"},
			wantErr: []string{"--dry-run", "CA file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tenant := actionTenant(t)
			env := actionEnv(tenant, secret)
			for k, v := range tc.env {
				env[k] = v
			}
			if tc.fault.Status != 0 {
				tenant.Inject(tc.fault)
			}
			stdout, stderr, err := runAction(t, env, "deploy", "--dry-run", "--url", "https://mailproof.example.com")
			if err == nil {
				t.Fatalf("dry run succeeded, want an error; stdout:\n%s", stdout)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(stdout+stderr+err.Error(), secret) || strings.Contains(err.Error(), tenant.ClientSecret()) {
				t.Error("output contains a secret value")
			}
			if got := writes(tenant); got != 0 {
				t.Errorf("%d Management API writes, want 0", got)
			}
		})
	}
}
