package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	deployaction "github.com/mailproof/mailproof/deploy/action"
)

// TestActionDeployDeploysOnlyWhatChanged runs action deploy again and again against one
// tenant: a run with the code, secrets and binding already live deploys nothing and
// writes nothing; a changed secret, timeout, URL or code, or --force, deploys a version.
func TestActionDeployDeploysOnlyWhatChanged(t *testing.T) {
	// A bucket larger than the default 50: a dozen deploys in a second or two.
	tenant := auth0test.NewT(t, auth0test.Config{BuildDelay: time.Nanosecond, Rate: 1000, Burst: 1000})
	bindOther(t, tenant, "acme-risk-check")
	secret, rotated := newHMACSecret(t), newHMACSecret(t)
	const base = "https://mailproof.example.com"
	url := base + postLoginPath
	// ourSpec is what a deploy of secret to url sets, with other code, as an older
	// mailproof (or a hand in the Dashboard) would have deployed it.
	ourSpec := func(code string, fingerprint bool) auth0client.ActionSpec {
		spec := deployPlan{name: ourAction, url: url, secret: secret}.spec()
		spec.Code = code
		if !fingerprint {
			for name := range spec.Secrets {
				if strings.HasPrefix(name, actionFingerprintPrefix) {
					delete(spec.Secrets, name)
				}
			}
		}
		return spec
	}
	runs := []struct {
		name        string
		before      func(t *testing.T) // changes the tenant behind the command's back
		secrets     string             // MAILPROOF_WEBHOOK_SECRETS
		args        []string
		wantOut     []string
		wantVersion int
	}{
		{name: "first deploy", secrets: secret, args: []string{"--url", base},
			wantOut: []string{"created Action"}, wantVersion: 1},
		{name: "the same again", secrets: secret, args: []string{"--url", base},
			wantOut: []string{"deployed version 1 runs this code with these secrets and is bound to post-login (position 2 of 2)",
				"unchanged: nothing deployed"}, wantVersion: 1},
		{name: "the full URL is the same URL", secrets: secret, args: []string{"--url", url},
			wantOut: []string{"unchanged: nothing deployed"}, wantVersion: 1},
		{name: "a rotated secret", secrets: rotated + "," + secret, args: []string{"--url", base},
			wantOut: []string{"changes   the secrets differ", "built and deployed version 2"}, wantVersion: 2},
		{name: "a timeout", secrets: rotated, args: []string{"--url", base, "--timeout-ms", "1500"},
			wantOut: []string{"changes   the secrets differ"}, wantVersion: 3},
		{name: "another timeout", secrets: rotated, args: []string{"--url", base, "--timeout-ms", "1600"},
			wantOut: []string{"changes   the secrets differ"}, wantVersion: 4},
		{name: "another URL", secrets: rotated, args: []string{"--url", "https://mp2.example.com", "--timeout-ms", "1600"},
			wantOut: []string{"changes   the secrets differ"}, wantVersion: 5},
		{name: "unchanged with --force", secrets: rotated, args: []string{"--url", "https://mp2.example.com", "--timeout-ms", "1600", "--force"},
			wantOut: []string{"deployed version 5 is unchanged; --force: deploying a new version anyway"}, wantVersion: 6},
		{name: "other code deployed, the same secrets", before: func(t *testing.T) { deployDirect(t, tenant, ourSpec("// older", true)) },
			secrets: secret, args: []string{"--url", base}, wantOut: []string{"changes   the code differs\n"}, wantVersion: 8},
		{name: "deployed by a mailproof without the fingerprint", before: func(t *testing.T) { deployDirect(t, tenant, ourSpec(deployaction.Code, false)) },
			secrets: secret, args: []string{"--url", base}, wantOut: []string{"changes   the secrets differ\n"}, wantVersion: 10},
		{name: "and the same again", secrets: secret, args: []string{"--url", base},
			wantOut: []string{"unchanged: nothing deployed"}, wantVersion: 10},
	}
	for _, run := range runs {
		if run.before != nil {
			run.before(t)
		}
		writesBefore := writes(tenant)
		stdout, stderr, err := runAction(t, actionEnv(tenant, run.secrets), append([]string{"deploy"}, run.args...)...)
		if err != nil {
			t.Fatalf("%s: %v\nstderr: %s", run.name, err, stderr)
		}
		for _, want := range run.wantOut {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", run.name, want, stdout)
			}
		}
		a, _ := tenant.Action(ourAction)
		if a.DeployedVersion != run.wantVersion || a.DeployedCode != deployaction.Code {
			t.Errorf("%s: deployed version %d (our code: %t), want version %d of our code",
				run.name, a.DeployedVersion, a.DeployedCode == deployaction.Code, run.wantVersion)
		}
		unchanged := strings.Contains(stdout, "unchanged: nothing deployed")
		if got := writes(tenant) - writesBefore; unchanged != (got == 0) {
			t.Errorf("%s: %d Management API writes; unchanged: %t", run.name, got, unchanged)
		}
		for _, s := range []string{secret, rotated} {
			if strings.Contains(stdout+stderr, s) {
				t.Errorf("%s: output contains a secret value", run.name)
			}
		}
	}
	a, _ := tenant.Action(ourAction)
	if a.Secrets["MAILPROOF_SECRET"] != secret {
		t.Error("MAILPROOF_SECRET is not the configured secret")
	}
	fingerprints := 0
	for name := range a.Secrets {
		if strings.HasPrefix(name, actionFingerprintPrefix) {
			fingerprints++
		}
	}
	if fingerprints != 1 || len(a.Secrets) != 3 {
		t.Errorf("the Action has %d secrets, %d of them fingerprints; want the URL, the signing secret and one fingerprint", len(a.Secrets), fingerprints)
	}
}

func TestSecretsFingerprint(t *testing.T) {
	base := map[string]string{"MAILPROOF_URL": "https://mp.example.com/v1/events/post-login", "MAILPROOF_SECRET": testWebhookSecret}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for name, value := range base {
			if name != k {
				m[name] = value
			}
		}
		return m
	}
	fp := secretsFingerprint(base)
	if len(fp) != 32 || strings.Contains(fp, testWebhookSecret[len("whsec_"):]) {
		t.Fatalf("fingerprint %q: want 32 hex digits", fp)
	}
	tests := []struct {
		name    string
		secrets map[string]string
		same    bool
	}{
		{name: "the same secrets", secrets: with("MAILPROOF_URL", base["MAILPROOF_URL"]), same: true},
		{name: "with an earlier fingerprint beside them", secrets: with(actionFingerprintPrefix+"00", "00"), same: true},
		{name: "another secret", secrets: with("MAILPROOF_SECRET", "whsec_other")},
		{name: "another URL", secrets: with("MAILPROOF_URL", "https://mp2.example.com/v1/events/post-login")},
		{name: "a timeout", secrets: with("MAILPROOF_TIMEOUT_MS", "1500")},
		// Names and values are delimited: moving a byte across the boundary changes it.
		{name: "a value shifted into the name", secrets: map[string]string{"MAILPROOF_URLh": "ttps://mp.example.com/v1/events/post-login", "MAILPROOF_SECRET": testWebhookSecret}},
	}
	for _, tc := range tests {
		if got := secretsFingerprint(tc.secrets); (got == fp) != tc.same {
			t.Errorf("%s: fingerprint %s, base %s; want the same: %t", tc.name, got, fp, tc.same)
		}
	}
}

// TestActionDeployDryRunWithoutTheSecret: the plan is there to look at before the
// secret exists; it says the secret is missing and that a real deploy needs it.
func TestActionDeployDryRunWithoutTheSecret(t *testing.T) {
	tenant := actionTenant(t)
	secret := newHMACSecret(t)
	if _, stderr, err := runAction(t, actionEnv(tenant, secret), "deploy", "--url", "https://mailproof.example.com"); err != nil {
		t.Fatalf("deploy: %v\n%s", err, stderr)
	}
	withCreds := actionEnv(tenant, "")
	cases := []struct {
		name    string
		env     map[string]string
		wantOut []string
	}{
		{name: "nothing set", env: map[string]string{},
			wantOut: []string{"tenant not read", "MAILPROOF_AUTH0_DOMAIN is not set"}},
		{name: "credentials set", env: withCreds,
			wantOut: []string{"deployed version 1 is the same as this code and is otherwise unchanged: a deploy with the same secrets would deploy nothing",
				"secrets   not compared: the signing secret is not set", "already bound"}},
	}
	for _, tc := range cases {
		writesBefore := writes(tenant)
		stdout, stderr, err := runAction(t, tc.env, "deploy", "--dry-run", "--url", "https://mailproof.example.com")
		if err != nil {
			t.Fatalf("%s: %v\nstderr: %s", tc.name, err, stderr)
		}
		for _, want := range append(tc.wantOut, "signing   not set: a real deploy needs it (MAILPROOF_WEBHOOK_SECRETS (or MAILPROOF_WEBHOOK_SECRETS_FILE) is not set",
			"nothing changed (dry run)") {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", tc.name, want, stdout)
			}
		}
		if strings.Contains(stdout, actionFingerprintPrefix) {
			t.Errorf("%s: the plan promises a fingerprint of secrets it does not have:\n%s", tc.name, stdout)
		}
		if got := writes(tenant) - writesBefore; got != 0 {
			t.Errorf("%s: %d Management API writes during the dry run, want 0", tc.name, got)
		}
	}
}
