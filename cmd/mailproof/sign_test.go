package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/event/eventtest"
	"github.com/mailproof/mailproof/store"
)

// signVector is one "sign" entry of webhook/testdata/signature-vectors.json, the
// vectors the verifier and the Action are tested against too.
type signVector struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

func signVectors(t *testing.T) []signVector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "webhook", "testdata", "signature-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Sign []signVector `json:"sign"`
	}
	if err := json.Unmarshal(b, &v); err != nil || len(v.Sign) == 0 {
		t.Fatalf("signature vectors: %v, %d sign vectors", err, len(v.Sign))
	}
	return v.Sign
}

// signTempFile writes b to a fresh file and returns its name.
func signTempFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// signHeaders is what sign prints without --curl.
func signHeaders(id string, ts int64, sig string) string {
	return "webhook-id: " + id + "\nwebhook-timestamp: " + strconv.FormatInt(ts, 10) + "\nwebhook-signature: " + sig + "\n"
}

func TestSignPrintsTheSharedVectors(t *testing.T) {
	for _, v := range signVectors(t) {
		file := signTempFile(t, "body.json", []byte(v.Payload))
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"sign", "--secret", v.Secret, "--id", v.ID, "--timestamp", strconv.FormatInt(v.Timestamp, 10), file},
			func(string) string { return "" }, &stdout, &stderr)
		if err != nil {
			t.Errorf("%s: %v\n%s", v.Name, err, stderr.String())
			continue
		}
		if want := signHeaders(v.ID, v.Timestamp, v.Signature); stdout.String() != want {
			t.Errorf("%s: printed\n%s\nwant\n%s", v.Name, stdout.String(), want)
		}
	}
}

func TestSignSecretSources(t *testing.T) {
	v := signVectors(t)[0]
	file := signTempFile(t, "body.json", []byte(v.Payload))
	secretFile := signTempFile(t, "secret", []byte(v.Secret+"\n"))
	const otherSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
	const publicKey = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	ts := strconv.FormatInt(v.Timestamp, 10)
	tests := []struct {
		name    string
		flags   []string
		env     string // MAILPROOF_WEBHOOK_SECRETS
		wantErr []string
	}{
		{name: "--secret", flags: []string{"--secret", v.Secret}, env: otherSecret},
		{name: "--secret-file", flags: []string{"--secret-file", secretFile}},
		{name: "environment", env: v.Secret},
		{name: "environment: the first whsec_ entry", env: publicKey + ", " + v.Secret + "," + otherSecret},
		{name: "no secret anywhere", wantErr: []string{"no signing secret", "--secret", "MAILPROOF_WEBHOOK_SECRETS"}},
		{name: "only a public key in the environment", env: publicKey, wantErr: []string{"no signing secret"}},
		{name: "both flags", flags: []string{"--secret", v.Secret, "--secret-file", secretFile}, wantErr: []string{"not both"}},
		{name: "a public key cannot sign", flags: []string{"--secret", publicKey}, wantErr: []string{"cannot sign"}},
		{name: "id outside the grammar", flags: []string{"--secret", v.Secret, "--id", "msg.1"}, wantErr: []string{"message id must be"}},
		{name: "timestamp with a plus", flags: []string{"--secret", v.Secret, "--timestamp", "+" + ts}, wantErr: []string{"plain decimal"}},
		{name: "timestamp with a leading zero", flags: []string{"--secret", v.Secret, "--timestamp", "0" + ts}, wantErr: []string{"plain decimal"}},
	}
	for _, tc := range tests {
		args := append([]string{"sign", "--timestamp", strconv.FormatInt(v.Timestamp, 10)}, tc.flags...)
		if !slices.Contains(tc.flags, "--id") {
			args = append(args, "--id", v.ID)
		}
		args = append(args, file)
		env := map[string]string{"MAILPROOF_WEBHOOK_SECRETS": tc.env}
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), args, func(k string) string { return env[k] }, &stdout, &stderr)
		if len(tc.wantErr) > 0 {
			if err == nil || stdout.Len() > 0 {
				t.Errorf("%s: error %v, printed %q; want an error and nothing printed", tc.name, err, stdout.String())
				continue
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not say %q", tc.name, err, w)
				}
			}
			if strings.Contains(err.Error(), v.Secret[len("whsec_"):]) {
				t.Errorf("%s: error %q repeats the secret", tc.name, err)
			}
			continue
		}
		if want := signHeaders(v.ID, v.Timestamp, v.Signature); err != nil || stdout.String() != want {
			t.Errorf("%s: error %v, printed\n%s\nwant\n%s", tc.name, err, stdout.String(), want)
		}
	}
}

// TestSignReadsTheSecretsFile finds the secret where serve does when the receivers'
// keys live in a file (MAILPROOF_WEBHOOK_SECRETS_FILE).
func TestSignReadsTheSecretsFile(t *testing.T) {
	v := signVectors(t)[0]
	file := signTempFile(t, "body.json", []byte(v.Payload))
	keys := signTempFile(t, "keys", []byte(v.Secret+"\n"))
	env := map[string]string{"MAILPROOF_WEBHOOK_SECRETS_FILE": keys}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"sign", "--id", v.ID, "--timestamp", strconv.FormatInt(v.Timestamp, 10), file},
		func(k string) string { return env[k] }, &stdout, &stderr)
	if want := signHeaders(v.ID, v.Timestamp, v.Signature); err != nil || stdout.String() != want {
		t.Errorf("error %v, printed\n%s\nwant\n%s", err, stdout.String(), want)
	}
}

// TestSignReportsAMissingFileFirst: a mistyped FILE is named before a missing secret,
// which a new user meets second, not instead.
func TestSignReportsAMissingFileFirst(t *testing.T) {
	v := signVectors(t)[0]
	missing := filepath.Join(t.TempDir(), "no-such-event.json")
	present := signTempFile(t, "body.json", []byte(v.Payload))
	tests := []struct {
		name    string
		file    string
		env     string // MAILPROOF_WEBHOOK_SECRETS
		wantErr string
	}{
		{name: "no file and no secret", file: missing, wantErr: "read body: open " + missing + ": no such file or directory"},
		{name: "no file, a secret", file: missing, env: v.Secret, wantErr: "read body: open " + missing},
		{name: "a file and no secret", file: present, wantErr: "no signing secret"},
	}
	for _, tc := range tests {
		env := map[string]string{"MAILPROOF_WEBHOOK_SECRETS": tc.env}
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"sign", tc.file}, func(k string) string { return env[k] }, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || stdout.Len() > 0 {
			t.Errorf("%s: error %v, printed %q; want an error saying %q and nothing printed", tc.name, err, stdout.String(), tc.wantErr)
		}
	}
}

// TestSignStdin reads the body from standard input. sign reads os.Stdin itself, so this
// test swaps it and must not run in parallel with anything that reads it.
func TestSignStdin(t *testing.T) {
	v := signVectors(t)[0]
	in, err := os.Open(signTempFile(t, "body.json", []byte(v.Payload)))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	saved := os.Stdin
	os.Stdin = in
	t.Cleanup(func() { os.Stdin = saved })
	var stdout, stderr bytes.Buffer
	err = run(t.Context(), []string{"sign", "--id", v.ID, "--timestamp", strconv.FormatInt(v.Timestamp, 10), "-"},
		func(k string) string { return map[string]string{"MAILPROOF_WEBHOOK_SECRETS": v.Secret}[k] }, &stdout, &stderr)
	if want := signHeaders(v.ID, v.Timestamp, v.Signature); err != nil || stdout.String() != want {
		t.Errorf("stdin: error %v, printed\n%s\nwant\n%s", err, stdout.String(), want)
	}
}

// TestSignCurlThroughReceiver runs the printed curl command with a real shell and curl
// against a real receiver (serve on Redis and the tenant emulator): the quoting must
// carry the body byte for byte, or the signature would not verify.
func TestSignCurlThroughReceiver(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl on PATH")
	}
	env := serveEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &stdout, &stderr) }()
	waitReady(t, env["MAILPROOF_OPS_LISTEN"], done, &stderr)

	const user = "auth0|6560c1f2e4b0a1b2c3d4e5f6"
	r, err := store.Open(t.Context(), env["MAILPROOF_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.PutPending(t.Context(), store.Record{UserID: user, Email: "ada@example.com", Connection: "Username-Password-Authentication", ProvisionedAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(eventtest.Path(eventtest.Base))
	if err != nil {
		t.Fatal(err)
	}
	// Quotes, a command substitution, backticks and non-ASCII: all must reach the
	// receiver verbatim and none may run.
	body = bytes.Replace(body, []byte("Mozilla/5.0"), []byte("O'Reilly $(touch pwned) `touch pwned` \\\\ ✓ Zoë"), 1)
	var cmd, cmdErr bytes.Buffer
	err = run(t.Context(), []string{"sign", "--secret", testWebhookSecret, "--curl", "http://" + env["MAILPROOF_LISTEN"] + "/", signTempFile(t, "event.json", body)},
		func(string) string { return "" }, &cmd, &cmdErr)
	if err != nil {
		t.Fatalf("sign --curl: %v\n%s", err, cmdErr.String())
	}
	dir := t.TempDir()
	for _, want := range []string{`"status":"queued"`, `"status":"duplicate"`} { // the same delivery twice
		sh := exec.CommandContext(t.Context(), "sh", "-c", cmd.String())
		sh.Dir = dir
		out, err := sh.CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("curl command: error %v, output %q; want %s\ncommand:\n%s", err, out, want, cmd.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("the shell ran a command substitution from the body")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v\n%s", err, stderr.String())
	}
}
