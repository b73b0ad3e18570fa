package action

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// maxActionCode is Auth0's limit on one Action's code ("Actions Limitations").
const maxActionCode = 100_000

// keyLiteral matches a whsec_, whsk_ or whpk_ key with a body long enough to be real.
var keyLiteral = regexp.MustCompile(`wh(sec|sk|pk)_[A-Za-z0-9+/]{16,}`)

func TestActionCodeIsPostLogin(t *testing.T) {
	onDisk, err := os.ReadFile("post-login.js")
	if err != nil {
		t.Fatal(err)
	}
	if Code != string(onDisk) {
		t.Errorf("Code has %d bytes, post-login.js %d; want the same text", len(Code), len(onDisk))
	}
	if !regexp.MustCompile(`(?m)^exports\.onExecutePostLogin\s*=\s*async\b`).MatchString(Code) {
		t.Error("Code does not export an async onExecutePostLogin; Auth0 would have nothing to run")
	}
	if len(Code) > maxActionCode {
		t.Errorf("Code is %d bytes, want at most %d (Auth0's limit)", len(Code), maxActionCode)
	}
}

// TestActionCodeHoldsNoTestMaterial guards the upload: a key from the test vectors, or a
// require of a test helper, must never reach a tenant.
func TestActionCodeHoldsNoTestMaterial(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "webhook", "testdata", "signature-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors any
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatalf("signature-vectors.json: %v", err)
	}
	keys := map[string]bool{}
	collectKeys(vectors, keys)
	if len(keys) == 0 {
		t.Fatal("found no keys in signature-vectors.json; the check below would prove nothing")
	}
	for k := range keys {
		// The base64 body alone: the vector must not appear under any prefix.
		_, body, _ := strings.Cut(k, "_")
		if strings.Contains(Code, body) {
			t.Errorf("Code contains the test key %s…", k[:min(len(k), 10)])
		}
	}
	if m := keyLiteral.FindString(Code); m != "" {
		t.Errorf("Code contains what looks like a key literal (%s…)", m[:10])
	}
	for _, helper := range []string{"node:test", "fake-receiver", "signature-vectors", "require('./", `require("./`} {
		if strings.Contains(Code, helper) {
			t.Errorf("Code mentions %q; a test helper must not be uploaded", helper)
		}
	}
}

// collectKeys gathers every string in v that is a Standard Webhooks key.
func collectKeys(v any, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			collectKeys(x, into)
		}
	case []any:
		for _, x := range v {
			collectKeys(x, into)
		}
	case string:
		if keyLiteral.MatchString(v) {
			into[v] = true
		}
	}
}
