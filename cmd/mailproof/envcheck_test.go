package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// mainChildEnv makes the test binary run main (see TestMain). Its MAILPROOF_TEST_ prefix
// keeps it out of the warnings it is used to test.
const mainChildEnv = "MAILPROOF_TEST_RUN_MAIN"

func TestUnknownEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string // one per warning, each a substring of it
	}{
		{name: "nothing unknown", environ: []string{"PATH=/usr/bin", "HOME=/root", "MAILPROOF_REDIS_URL=redis://127.0.0.1:6379/0",
			"MAILPROOF_WEBHOOK_SECRETS_FILE=/run/secrets/whsec", "MAILPROOF_AUTH0_RATE=16", "MAILPROOF_URL=http://127.0.0.1:8080",
			"MAILPROOF_TEST_REQUIRE_REDIS=1", "MAILPROOF_BENCH_USERS=100", "mailproof_redis_url=not ours", "MAILPROOFREDIS=not ours either"}},
		{name: "a longer name", environ: []string{"MAILPROOF_AUTH0_RATE_LIMIT=5"},
			want: []string{"MAILPROOF_AUTH0_RATE_LIMIT is set, but mailproof reads no such variable; did you mean MAILPROOF_AUTH0_RATE?"}},
		{name: "singular for plural", environ: []string{"MAILPROOF_WEBHOOK_SECRET=whsec_x"}, want: []string{"did you mean MAILPROOF_WEBHOOK_SECRETS?"}},
		{name: "_FILE of a setting that is not secret", environ: []string{"MAILPROOF_LISTEN_FILE=/tmp/x"}, want: []string{"did you mean MAILPROOF_LISTEN?"}},
		{name: "typo in a _FILE", environ: []string{"MAILPROOF_REDIS_URL_FIEL=/tmp/x"}, want: []string{"did you mean MAILPROOF_REDIS_URL_FILE?"}},
		{name: "a name cut short", environ: []string{"MAILPROOF_REDIS=redis://127.0.0.1:6379"}, want: []string{"did you mean MAILPROOF_REDIS_URL?"}},
		{name: "transposed letters", environ: []string{"MAILPROOF_WORKRES=8"}, want: []string{"did you mean MAILPROOF_WORKERS?"}},
		{name: "nothing close", environ: []string{"MAILPROOF_FOO=1"},
			want: []string{"MAILPROOF_FOO is set, but mailproof reads no such variable ('mailproof serve --help' lists them)"}},
		{name: "sorted, each once", environ: []string{"MAILPROOF_WORKRES=8", "MAILPROOF_AUTH0_RATE_LIMIT=5", "MAILPROOF_WORKRES=9"},
			want: []string{"MAILPROOF_AUTH0_RATE_LIMIT", "MAILPROOF_WORKRES"}},
	}
	for _, tc := range tests {
		got := unknownEnv(tc.environ)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d warnings %q, want %d", tc.name, len(got), got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %q, want it to say %q", tc.name, got[i], w)
			}
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"RATE", "RATE", 0},
		{"WORKRES", "WORKERS", 2}, {"AUTH0_RATE_LIMIT", "AUTH0_RATE", 6}, {"kitten", "sitting", 3},
	}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestMainWarnsAboutUnknownVariables runs the test binary as mailproof itself: main
// reads the process's environment, whatever the command and however it ends, and the
// warning changes no exit status.
func TestMainWarnsAboutUnknownVariables(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		extra      string // one more variable in the environment
		wantStatus int
		wantWarn   bool
	}{
		{name: "version", args: []string{"version"}, extra: "MAILPROOF_AUTH0_RATE_LIMIT=5", wantWarn: true},
		{name: "a usage mistake", args: []string{"sign"}, extra: "MAILPROOF_AUTH0_RATE_LIMIT=5", wantStatus: exitUsage, wantWarn: true},
		{name: "a failing command", args: []string{"audit"}, extra: "MAILPROOF_AUTH0_RATE_LIMIT=5", wantStatus: exitFailure, wantWarn: true},
		{name: "nothing unknown", args: []string{"version"}, extra: "MAILPROOF_AUTH0_RATE=5"},
	}
	for _, tc := range tests {
		cmd := exec.CommandContext(t.Context(), os.Args[0], tc.args...)
		cmd.Env = append(withoutMailproofEnv(os.Environ()), mainChildEnv+"=1", tc.extra)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		status := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			status = exitErr.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		const warning = "mailproof: warning: MAILPROOF_AUTH0_RATE_LIMIT is set, but mailproof reads no such variable; did you mean MAILPROOF_AUTH0_RATE?\n"
		if status != tc.wantStatus || strings.Contains(stderr.String(), warning) != tc.wantWarn || (!tc.wantWarn && strings.Contains(stderr.String(), "warning")) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and a warning: %t", tc.name, status, stderr.String(), tc.wantStatus, tc.wantWarn)
		}
	}
}

// withoutMailproofEnv drops the MAILPROOF_* variables of the shell running the tests.
func withoutMailproofEnv(environ []string) []string {
	return slices.DeleteFunc(slices.Clone(environ), func(kv string) bool { return strings.HasPrefix(kv, envPrefix) })
}

// TestKnownEnvCoversTheSource: every MAILPROOF_* name the command and server code
// mention is one knownEnv holds, so the warning cannot call a variable mailproof reads
// unknown. The others are the names of the Action's own secrets, which live in the
// tenant, not in the environment.
func TestKnownEnvCoversTheSource(t *testing.T) {
	actionSecrets := []string{"MAILPROOF_URL", "MAILPROOF_SECRET", "MAILPROOF_TIMEOUT_MS"}
	name := regexp.MustCompile(`MAILPROOF_[A-Z0-9_]*[A-Z0-9]`)
	var files []string
	for _, dir := range []string{".", "../../server"} {
		found, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, found...)
	}
	known := knownEnv()
	seen := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, loc := range name.FindAllIndex(src, -1) {
			n := string(src[loc[0]:loc[1]])
			if loc[1] < len(src) && src[loc[1]] == '_' {
				continue // a prefix such as "MAILPROOF_AUTH0_" or MAILPROOF_RETRY_*
			}
			seen++
			if !slices.Contains(known, n) && !slices.Contains(actionSecrets, n) && !strings.HasPrefix(n, testEnvPrefix) &&
				!strings.HasPrefix(n, benchEnvPrefix) {
				t.Errorf("%s mentions %s, which knownEnv does not hold: mailproof would warn that it reads no such variable", file, n)
			}
		}
	}
	if seen < 50 {
		t.Errorf("found %d mentions of MAILPROOF_* names, want the dozens in the source", seen)
	}
}
