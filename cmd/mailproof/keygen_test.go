package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/webhook"
)

func TestKeygenPrintsNewKeys(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantPrefix []string // one per line of stdout
	}{
		{name: "default", args: []string{"keygen"}, wantPrefix: []string{"whsec_"}},
		{name: "hmac", args: []string{"keygen", "hmac"}, wantPrefix: []string{"whsec_"}},
		{name: "ed25519", args: []string{"keygen", "ed25519"}, wantPrefix: []string{"whsk_", "whpk_"}},
	}
	for _, tc := range tests {
		stdout, _, status := runCLI(t, tc.args...)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if status != exitOK || len(lines) != len(tc.wantPrefix) {
			t.Errorf("%s: exit %d, stdout %q; want exit 0 and %d lines", tc.name, status, stdout, len(tc.wantPrefix))
			continue
		}
		var ids []string
		for i, line := range lines {
			k, err := webhook.ParseKey(line)
			if err != nil || !strings.HasPrefix(line, tc.wantPrefix[i]) {
				t.Errorf("%s: line %d is not a %s… key: %v", tc.name, i+1, tc.wantPrefix[i], err)
				continue
			}
			ids = append(ids, k.ID())
		}
		if len(ids) == 2 && ids[0] != ids[1] {
			t.Errorf("%s: the private key's id %s is not the public key's %s", tc.name, ids[0], ids[1])
		}
		if again, _, _ := runCLI(t, tc.args...); again == stdout {
			t.Errorf("%s: two runs printed the same key", tc.name)
		}
	}
}

func TestKeygenUsage(t *testing.T) {
	for _, args := range [][]string{{"keygen", "rsa"}, {"keygen", "hmac", "ed25519"}, {"keygen", "--out"}} {
		stdout, stderr, status := runCLI(t, args...)
		if status != exitUsage || stdout != "" || !strings.Contains(stderr, "mailproof keygen") {
			t.Errorf("mailproof %s: exit %d, stdout %q, stderr %q; want exit 2, no key and the usage", strings.Join(args, " "), status, stdout, stderr)
		}
	}
}

// TestKeygenOutSignsWhatTheReceiverAccepts writes a key pair to files, signs with the
// private one through 'mailproof sign', and checks a verifier given the public file the
// way serve reads it (MAILPROOF_WEBHOOK_SECRETS_FILE) accepts the signature.
func TestKeygenOutSignsWhatTheReceiverAccepts(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "webhook.key")
	stdout, stderr, status := runCLI(t, "keygen", "ed25519", "--out", key)
	if status != exitOK || !strings.Contains(stdout, "--secret-file "+key) || !strings.Contains(stdout, "MAILPROOF_WEBHOOK_SECRETS_FILE="+key+".pub") {
		t.Fatalf("keygen --out: exit %d, stdout %q, stderr %q; want exit 0 and where each key goes", status, stdout, stderr)
	}
	for _, f := range []struct {
		path   string
		mode   os.FileMode
		prefix string
	}{{key, 0o600, "whsk_"}, {key + ".pub", 0o644, "whpk_"}} {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got&^f.mode != 0 {
			t.Errorf("%s: mode %v, want at most %v", f.path, got, f.mode)
		}
		if b, _ := os.ReadFile(f.path); !strings.HasPrefix(string(b), f.prefix) {
			t.Errorf("%s holds %.6q…, want a %s key", f.path, b, f.prefix)
		}
	}

	body := filepath.Join(dir, "body.json")
	if err := os.WriteFile(body, []byte(`{"type":"auth0.post_login"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	stdout, stderr, status = runCLI(t, "sign", "--secret-file", key, "--id", "msg_keygen", "--timestamp", strconv.FormatInt(now, 10), body)
	sig, ok := strings.CutPrefix(lastLine(stdout), "webhook-signature: ")
	if status != exitOK || !ok {
		t.Fatalf("sign --secret-file: exit %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	public, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.NewVerifier([]string{strings.TrimSpace(string(public))}, webhook.DefaultTolerance, time.Now)
	if err != nil {
		t.Fatalf("the receiver refuses the public key: %v", err)
	}
	if _, err := v.Verify("msg_keygen", strconv.FormatInt(now, 10), sig, []byte(`{"type":"auth0.post_login"}`)); err != nil {
		t.Errorf("the receiver rejects what the private key signed: %v", err)
	}

	// An existing key is never replaced: the receivers or the Action may hold it.
	before, _ := os.ReadFile(key)
	if _, stderr, status := runCLI(t, "keygen", "--out", key); status != exitFailure || !strings.Contains(stderr, "exists") {
		t.Errorf("keygen --out over an existing file: exit %d, stderr %q; want exit 1 saying it exists", status, stderr)
	}
	if after, _ := os.ReadFile(key); string(after) != string(before) {
		t.Error("keygen --out replaced an existing key")
	}
	// A pair whose public file exists leaves no private key behind.
	lone := filepath.Join(dir, "lone.key")
	if err := os.WriteFile(lone+".pub", []byte("taken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, status := runCLI(t, "keygen", "ed25519", "--out", lone); status != exitFailure {
		t.Errorf("keygen ed25519 --out with FILE.pub taken: exit %d, want 1", status)
	}
	if _, err := os.Stat(lone); !os.IsNotExist(err) {
		t.Errorf("keygen left %s behind without its public key: %v", lone, err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
