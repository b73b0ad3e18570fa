package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		s := []debug.BuildSetting{{Key: "-trimpath", Value: "true"}, {Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}}
		if at != "" {
			s = append(s, debug.BuildSetting{Key: "vcs.time", Value: at})
		}
		return append(s, debug.BuildSetting{Key: "vcs.modified", Value: modified})
	}
	const rev = "1b78342a9e0c5d7f3b2a1c0d9e8f7a6b5c4d3e2f"
	tests := []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{name: "stamped by make build", stamped: "v0.3.0-4-g1b78342-dirty",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Settings: vcs(rev, "2026-11-24T10:15:03Z", "true")},
			want: "mailproof v0.3.0-4-g1b78342-dirty go1.26.8"},
		{name: "go install of a release", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			want: "mailproof v1.2.3 go1.26.8"},
		{name: "go build in a checkout: a pseudo-version", info: &debug.BuildInfo{GoVersion: "go1.26.8",
			Main: debug.Module{Version: "v0.0.0-20261124101503-1b78342a9e0c+dirty"}, Settings: vcs(rev, "2026-11-24T10:15:03Z", "true")},
			want: "mailproof v0.0.0-20261124101503-1b78342a9e0c+dirty go1.26.8"},
		{name: "go run in a modified checkout", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2026-11-24T10:15:03Z", "true")},
			want: "mailproof 1b78342a9e0c+dirty 2026-11-24T10:15:03Z go1.26.8"},
		{name: "a clean checkout", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2026-11-24T10:15:03Z", "false")},
			want: "mailproof 1b78342a9e0c 2026-11-24T10:15:03Z go1.26.8"},
		{name: "a revision without a time", info: &debug.BuildInfo{GoVersion: "go1.26.8", Settings: vcs("1b78342", "", "false")},
			want: "mailproof 1b78342 go1.26.8"},
		{name: "no VCS information (-buildvcs=false)", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "mailproof (devel) go1.26.8"},
	}
	for _, tc := range tests {
		if got := versionLine(tc.stamped, tc.info); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// Without build information, the running Go release still answers.
	if got := versionLine("", nil); !strings.HasPrefix(got, "mailproof (devel) go") {
		t.Errorf("no build information: %q, want mailproof (devel) and the Go version", got)
	}
}

// TestVersionPrintsTheStampedVersion sets the variable -ldflags "-X main.version=…"
// sets, so it must not run in parallel with another test reading it.
func TestVersionPrintsTheStampedVersion(t *testing.T) {
	saved := version
	t.Cleanup(func() { version = saved })
	version = "v0.3.0-4-g1b78342-dirty"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		stdout, stderr, status := runCLI(t, args...)
		if status != exitOK || !strings.HasPrefix(stdout, "mailproof v0.3.0-4-g1b78342-dirty go") || stderr != "" {
			t.Errorf("mailproof %s: exit %d, stdout %q, stderr %q; want exit 0 and the stamped version", args[0], status, stdout, stderr)
		}
	}
	if _, _, status := runCLI(t, "version", "now"); status != exitUsage {
		t.Errorf("mailproof version now: exit %d, want %d", status, exitUsage)
	}
}
