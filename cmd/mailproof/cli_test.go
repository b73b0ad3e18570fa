package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/server"
)

// runCLI runs the real dispatcher with an empty environment, as a new user's shell
// would, and returns what it printed and the exit status main would give.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, func(string) string { return "" }, &out, &errOut)
	var exitErr bytes.Buffer
	status = exitStatus(err, &exitErr)
	return out.String(), errOut.String() + exitErr.String(), status
}

// commandPaths lists every command and subcommand of the tree run dispatches, aliases
// included, as the words that call it.
func commandPaths(c command, prefix []string) [][]string {
	var paths [][]string
	for _, sub := range c.subs {
		for _, name := range append([]string{sub.name}, sub.aliases...) {
			path := append(slices.Clone(prefix), name)
			paths = append(paths, path)
			paths = append(paths, commandPaths(sub, path)...)
		}
	}
	return paths
}

func TestEveryCommandAnswersHelpAndRefusesABogusFlag(t *testing.T) {
	paths := commandPaths(root(), nil)
	if len(paths) < 15 {
		t.Fatalf("found %d commands in the tree, want every command and subcommand: %v", len(paths), paths)
	}
	for _, path := range paths {
		name := strings.Join(path, " ")
		// The usage names the command by its own name, not an alias.
		want := "mailproof " + strings.Join(canonical(path), " ")
		for _, help := range [][]string{
			append(slices.Clone(path), "--help"),
			append(slices.Clone(path), "-h"),
			append([]string{"help"}, path...),
		} {
			stdout, stderr, status := runCLI(t, help...)
			if status != exitOK || !strings.Contains(stdout, want) || stderr != "" {
				t.Errorf("mailproof %s: exit %d, stdout %q, stderr %q; want exit 0 and a usage naming %q on stdout only",
					strings.Join(help, " "), status, stdout, stderr, want)
			}
		}
		stdout, stderr, status := runCLI(t, append(slices.Clone(path), "--no-such-flag")...)
		if status != exitUsage || stdout != "" || !strings.Contains(stderr, want) {
			t.Errorf("mailproof %s --no-such-flag: exit %d, stdout %q, stderr %q; want exit 2 and the usage on stderr",
				name, status, stdout, stderr)
		}
	}
}

// canonical replaces aliases in path by the names they stand for.
func canonical(path []string) []string {
	c := root()
	var names []string
	for _, word := range path {
		i := slices.IndexFunc(c.subs, func(s command) bool { return s.name == word || slices.Contains(s.aliases, word) })
		c = c.subs[i]
		names = append(names, c.name)
	}
	return names
}

func TestTheCommandList(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		toStdout   bool
	}{
		{name: "no arguments", args: nil, wantStatus: exitUsage},
		{name: "help", args: []string{"help"}, wantStatus: exitOK, toStdout: true},
		{name: "--help", args: []string{"--help"}, wantStatus: exitOK, toStdout: true},
		{name: "-h", args: []string{"-h"}, wantStatus: exitOK, toStdout: true},
		{name: "unknown command", args: []string{"frobnicate"}, wantStatus: exitUsage},
		{name: "help for an unknown command", args: []string{"help", "frobnicate"}, wantStatus: exitUsage},
	}
	for _, tc := range tests {
		stdout, stderr, status := runCLI(t, tc.args...)
		list, other := stderr, stdout
		if tc.toStdout {
			list, other = stdout, stderr
		}
		if status != tc.wantStatus || other != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and output on one stream", tc.name, status, stdout, stderr, tc.wantStatus)
		}
		for _, c := range root().subs {
			if !strings.Contains(list, "mailproof "+c.synopsis) {
				t.Errorf("%s: the command list lacks %q:\n%s", tc.name, c.name, list)
			}
		}
		for _, w := range []string{"--help", "Exit status"} {
			if !strings.Contains(list, w) {
				t.Errorf("%s: the command list does not mention %q:\n%s", tc.name, w, list)
			}
		}
	}
	if _, stderr, _ := runCLI(t, "frobnicate"); !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: stderr %q does not name it", stderr)
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantOutput string // "" means nothing printed
	}{
		{name: "success", err: nil, wantStatus: 0},
		{name: "usage mistake already explained", err: errUsage, wantStatus: 2},
		{name: "usage mistake with its reason", err: usagef("--limit must be 1 to %d", 1000), wantStatus: 2, wantOutput: "mailproof: --limit must be 1 to 1000\n"},
		{name: "wrapped usage mistake", err: fmt.Errorf("sign: %w", usagef("give --secret or --secret-file, not both")), wantStatus: 2, wantOutput: "mailproof: sign: give --secret or --secret-file, not both\n"},
		{name: "runtime failure", err: errors.New("connect to Redis: connection refused"), wantStatus: 1, wantOutput: "mailproof: connect to Redis: connection refused\n"},
		{name: "configuration error", err: &server.ConfigError{Errs: []error{errors.New("MAILPROOF_REDIS_URL: required")}}, wantStatus: 1, wantOutput: "MAILPROOF_REDIS_URL"},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		if got := exitStatus(tc.err, &stderr); got != tc.wantStatus {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.wantStatus)
		}
		if got := stderr.String(); (tc.wantOutput == "") != (got == "") || !strings.Contains(got, tc.wantOutput) {
			t.Errorf("%s: printed %q, want %q", tc.name, got, tc.wantOutput)
		}
	}
}

func TestEnvHelpKnowsEveryVariableACommandReads(t *testing.T) {
	for _, names := range [][]string{redisSettings, auth0Settings, reconcileSettings, actionSettings, allSettings()} {
		help := envHelp(names, true)
		for _, name := range names {
			if !strings.Contains(help, "  "+name) {
				t.Errorf("envHelp(%v) does not describe %s: not in server.Settings", names, name)
			}
		}
	}
	help := envHelp([]string{"MAILPROOF_REDIS_URL", "MAILPROOF_LISTEN"}, true)
	for _, want := range []string{"MAILPROOF_REDIS_URL (required; or MAILPROOF_REDIS_URL_FILE)", `MAILPROOF_LISTEN (default ":8080")`} {
		if !strings.Contains(help, want) {
			t.Errorf("envHelp lacks %q:\n%s", want, help)
		}
	}
	if help := envHelp([]string{"MAILPROOF_REDIS_URL"}, false); strings.Contains(help, "required") {
		t.Errorf("envHelp for a command that does without: %q says required", help)
	}
}
