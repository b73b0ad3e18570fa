package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	deployaction "github.com/mailproof/mailproof/deploy/action"
)

const ourAction = "mailproof-post-login"

// actionTenant is an emulated tenant whose Actions build at once, so a deploy does not
// wait for the build poll.
func actionTenant(t *testing.T) *auth0test.Tenant {
	return auth0test.NewT(t, auth0test.Config{BuildDelay: time.Nanosecond})
}

// actionEnv is what an operator exports before `mailproof action deploy`.
func actionEnv(tenant *auth0test.Tenant, webhookSecrets string) map[string]string {
	return map[string]string{
		"MAILPROOF_AUTH0_DOMAIN":        tenant.Domain(),
		"MAILPROOF_AUTH0_CLIENT_ID":     tenant.ClientID(),
		"MAILPROOF_AUTH0_CLIENT_SECRET": tenant.ClientSecret(),
		"MAILPROOF_AUTH0_CA_FILE":       tenant.CAFile(),
		"MAILPROOF_WEBHOOK_SECRETS":     webhookSecrets,
	}
}

// runAction calls `mailproof action ARGS...` with env as the whole environment.
func runAction(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = actionGroup().dispatch(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func newHMACSecret(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// newEd25519Pair returns a whsk_ private key and its whpk_ public key.
func newEd25519Pair(t *testing.T) (whsk, whpk string) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return "whsk_" + base64.StdEncoding.EncodeToString(priv), "whpk_" + base64.StdEncoding.EncodeToString(pub)
}

func writeFile(t *testing.T, name, content string) string {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bindOther deploys and binds someone else's Action through the Management API, as a
// tenant that already runs Actions on login has.
func bindOther(t *testing.T, tenant *auth0test.Tenant, name string) {
	t.Helper()
	c, err := auth0client.New(context.Background(), auth0client.Config{
		Domain: tenant.Domain(), ClientID: tenant.ClientID(), ClientSecret: tenant.ClientSecret(), CAFile: tenant.CAFile(),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeployAction(context.Background(), auth0client.ActionSpec{
		Name: name, Code: "exports.onExecutePostLogin = async () => {};", PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("bind %s: %v", name, err)
	}
}

// writes counts the Management API calls that could change something.
func writes(tenant *auth0test.Tenant) int {
	n := 0
	for _, c := range tenant.Calls() {
		if c.Method != http.MethodGet && strings.HasPrefix(c.Path, "/api/v2/") {
			n++
		}
	}
	return n
}

func TestActionDeployCreatesBindsAndIsIdempotent(t *testing.T) {
	tenant := actionTenant(t)
	bindOther(t, tenant, "acme-risk-check")
	bindOther(t, tenant, "acme-geo-block")
	secret := newHMACSecret(t)
	env := actionEnv(tenant, secret)
	wantURL := "https://mailproof.example.com/v1/events/post-login"

	runs := []struct {
		name        string
		args        []string
		wantOut     string
		wantVersion int
		wantTimeout string
	}{
		{name: "first run creates and binds", args: []string{"--url", "https://mailproof.example.com", "--timeout-ms", "1500"},
			wantOut: "created Action", wantVersion: 1, wantTimeout: "1500"},
		{name: "second run updates and leaves bindings", args: []string{"--url", wantURL},
			wantOut: "already bound", wantVersion: 2},
	}
	for _, run := range runs {
		stdout, stderr, err := runAction(t, env, append([]string{"deploy"}, run.args...)...)
		if err != nil {
			t.Fatalf("%s: %v\nstderr: %s", run.name, err, stderr)
		}
		if !strings.Contains(stdout, run.wantOut) {
			t.Errorf("%s: stdout lacks %q:\n%s", run.name, run.wantOut, stdout)
		}
		for _, s := range []string{secret, tenant.ClientSecret()} {
			if strings.Contains(stdout+stderr, s) {
				t.Errorf("%s: output contains a secret value", run.name)
			}
		}
		a, ok := tenant.Action(ourAction)
		if !ok {
			t.Fatalf("%s: no Action named %s in the tenant", run.name, ourAction)
		}
		if a.DeployedVersion != run.wantVersion || a.DeployedCode != deployaction.Code || !a.AllChangesDeployed {
			t.Errorf("%s: deployed version %d (code is ours: %t, all deployed: %t), want version %d of our code",
				run.name, a.DeployedVersion, a.DeployedCode == deployaction.Code, a.AllChangesDeployed, run.wantVersion)
		}
		if a.Runtime != "node22" || !slices.Equal(a.SupportedTriggers, []string{"post-login"}) {
			t.Errorf("%s: runtime %q triggers %v, want node22 on post-login", run.name, a.Runtime, a.SupportedTriggers)
		}
		if got := a.Secrets["MAILPROOF_URL"]; got != wantURL {
			t.Errorf("%s: MAILPROOF_URL %q, want %q", run.name, got, wantURL)
		}
		if a.Secrets["MAILPROOF_SECRET"] != secret {
			t.Errorf("%s: MAILPROOF_SECRET is not the configured whsec_ secret", run.name)
		}
		if got, ok := a.Secrets["MAILPROOF_TIMEOUT_MS"]; got != run.wantTimeout || ok != (run.wantTimeout != "") {
			t.Errorf("%s: MAILPROOF_TIMEOUT_MS %q (set: %t), want %q", run.name, got, ok, run.wantTimeout)
		}
		want := []string{"acme-risk-check", "acme-geo-block", ourAction}
		if got := tenant.Bindings("post-login"); !slices.Equal(got, want) {
			t.Errorf("%s: post-login bindings %v, want %v", run.name, got, want)
		}
	}
	creates := 0
	for _, c := range tenant.Calls() {
		if c.Method == http.MethodPost && c.Path == "/api/v2/actions/actions" {
			creates++
		}
	}
	if creates != 3 { // the two other Actions and ours, once
		t.Errorf("%d Action creates, want 3 (ours only once)", creates)
	}
}

func TestActionDeploySecretSources(t *testing.T) {
	hmacA, hmacB := newHMACSecret(t), newHMACSecret(t)
	whsk, whpk := newEd25519Pair(t)
	cases := []struct {
		name        string
		receiver    string // MAILPROOF_WEBHOOK_SECRETS
		fileEnv     bool   // pass receiver and client secret as *_FILE
		secretFile  string
		want        string
		wantWarning bool
	}{
		{name: "first whsec_ of the receiver's list", receiver: whpk + "," + hmacA + "," + hmacB, want: hmacA},
		{name: "variables from _FILE", receiver: hmacB, fileEnv: true, want: hmacB},
		{name: "whsk_ file matching a receiver whpk_", receiver: whpk, secretFile: whsk, want: whsk},
		{name: "new key during rotation, receivers ready", receiver: hmacA + "," + hmacB, secretFile: hmacB, want: hmacB},
		{name: "key the receivers do not know yet", receiver: hmacA, secretFile: hmacB, want: hmacB, wantWarning: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tenant := actionTenant(t)
			env := actionEnv(tenant, tc.receiver)
			if tc.fileEnv {
				for _, k := range []string{"MAILPROOF_WEBHOOK_SECRETS", "MAILPROOF_AUTH0_CLIENT_SECRET"} {
					env[k+"_FILE"] = writeFile(t, "secret", env[k]+"\n")
					delete(env, k)
				}
			}
			args := []string{"deploy", "--url", "https://mailproof.example.com"}
			if tc.secretFile != "" {
				args = append(args, "--secret-file", writeFile(t, "key", tc.secretFile+"\n"))
			}
			stdout, stderr, err := runAction(t, env, args...)
			if err != nil {
				t.Fatalf("deploy: %v\nstderr: %s", err, stderr)
			}
			a, _ := tenant.Action(ourAction)
			if a.Secrets["MAILPROOF_SECRET"] != tc.want {
				t.Errorf("MAILPROOF_SECRET is not the expected key (prefix %.6s)", a.Secrets["MAILPROOF_SECRET"])
			}
			if warned := strings.Contains(stderr, "warning:"); warned != tc.wantWarning {
				t.Errorf("warned %t, want %t; stderr: %s", warned, tc.wantWarning, stderr)
			}
			for _, s := range []string{hmacA, hmacB, whsk, tenant.ClientSecret()} {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("output contains a secret value (prefix %.6s)", s)
				}
			}
		})
	}
}

func TestActionDeployRefusesBadConfiguration(t *testing.T) {
	tenant := actionTenant(t)
	secret := newHMACSecret(t)
	whsk, whpk := newEd25519Pair(t)
	good := actionEnv(tenant, secret)
	with := func(changes map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range good {
			env[k] = v
		}
		for k, v := range changes {
			env[k] = v
		}
		return env
	}
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr []string
	}{
		{name: "a dry run without --url", env: map[string]string{}, args: []string{"--dry-run"},
			wantErr: []string{"--url is required"}},
		{name: "no signing secret", env: with(map[string]string{"MAILPROOF_WEBHOOK_SECRETS": ""}), args: []string{"--url", "https://mailproof.example.com"},
			wantErr: []string{"MAILPROOF_WEBHOOK_SECRETS (or MAILPROOF_WEBHOOK_SECRETS_FILE) is not set", "--secret-file"}},
		{name: "no credentials names each", env: map[string]string{"MAILPROOF_WEBHOOK_SECRETS": secret}, args: []string{"--url", "https://mailproof.example.com"},
			wantErr: []string{"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET"}},
		{name: "everything missing", env: map[string]string{}, args: nil,
			wantErr: []string{"--url is required", "MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET", "MAILPROOF_WEBHOOK_SECRETS"}},
		{name: "plain http to a public host", env: good, args: []string{"--url", "http://mailproof.example.com"},
			wantErr: []string{"must use https://"}},
		{name: "plain http refused in a dry run too", env: good, args: []string{"--dry-run", "--url", "http://10.0.0.8:8080"},
			wantErr: []string{"must use https://"}},
		{name: "only public keys configured", env: with(map[string]string{"MAILPROOF_WEBHOOK_SECRETS": whpk}), args: []string{"--url", "https://mailproof.example.com"},
			wantErr: []string{"no whsec_ secret", "--secret-file"}},
		{name: "public key in the secret file", env: good, args: []string{"--url", "https://mailproof.example.com", "--secret-file", writeFile(t, "pk", whpk)},
			wantErr: []string{"whpk_ public key", "whsk_ private key"}},
		{name: "malformed secret file", env: good, args: []string{"--url", "https://mailproof.example.com", "--secret-file", writeFile(t, "bad", whsk[:20])},
			wantErr: []string{"--secret-file"}},
		{name: "timeout outside what the Action allows", env: good, args: []string{"--url", "https://mailproof.example.com", "--timeout-ms", "9000"},
			wantErr: []string{"--timeout-ms 9000"}},
		{name: "value and _FILE both set", env: with(map[string]string{"MAILPROOF_AUTH0_CLIENT_SECRET_FILE": writeFile(t, "cs", "x")}), args: []string{"--url", "https://mailproof.example.com"},
			wantErr: []string{"MAILPROOF_AUTH0_CLIENT_SECRET and MAILPROOF_AUTH0_CLIENT_SECRET_FILE are both set"}},
	}
	for _, tc := range cases {
		calls := len(tenant.Calls())
		stdout, stderr, err := runAction(t, tc.env, append([]string{"deploy"}, tc.args...)...)
		if err == nil {
			t.Errorf("%s: no error; stdout:\n%s", tc.name, stdout)
			continue
		}
		for _, want := range tc.wantErr {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, want)
			}
		}
		if got := len(tenant.Calls()) - calls; got != 0 {
			t.Errorf("%s: %d calls to the tenant, want none before the configuration is valid", tc.name, got)
		}
		for _, s := range []string{secret, whsk, tenant.ClientSecret()} {
			if strings.Contains(stdout+stderr+err.Error(), s) {
				t.Errorf("%s: output contains a secret value", tc.name)
			}
		}
	}
}

func TestActionUsage(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		wantErr    error
		wantStderr string
		wantStdout string
	}{
		{name: "no subcommand", args: nil, wantErr: errUsage, wantStderr: "mailproof action deploy"},
		{name: "unknown subcommand", args: []string{"undeploy"}, wantErr: errUsage, wantStderr: `unknown action command "undeploy"`},
		{name: "help", args: []string{"help"}, wantStdout: "mailproof action deploy"},
		{name: "stray argument", args: []string{"deploy", "https://mailproof.example.com"}, wantErr: errUsage, wantStderr: "unexpected argument"},
		{name: "unknown flag", args: []string{"deploy", "--frobnicate"}, wantErr: errUsage, wantStderr: "-frobnicate"},
		{name: "deploy -h", args: []string{"deploy", "-h"}, wantStdout: "-secret-file"},
	}
	for _, tc := range cases {
		stdout, stderr, err := runAction(t, map[string]string{}, tc.args...)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
		}
		if !strings.Contains(stderr, tc.wantStderr) {
			t.Errorf("%s: stderr %q lacks %q", tc.name, stderr, tc.wantStderr)
		}
		if !strings.Contains(stdout, tc.wantStdout) {
			t.Errorf("%s: stdout %q lacks %q", tc.name, stdout, tc.wantStdout)
		}
	}
}
