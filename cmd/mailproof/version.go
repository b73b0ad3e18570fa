package main

import (
	"context"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release this binary was built as, stamped by the linker:
//
//	go build -ldflags "-X main.version=$(git describe --always --dirty)" ./cmd/mailproof
//
// (make build does it). It is the one package-level variable the linker needs; nothing
// assigns it at run time. Empty, the build information the Go toolchain records speaks
// instead.
var version string

const versionUsage = `Usage:
  mailproof version      (or mailproof --version)

Prints the version of this build and the Go release that built it: the version
stamped at build time (make build stamps 'git describe'), else the module version
(go install), else the commit a checkout was built from (+dirty with uncommitted
changes) and its time.`

// versionCmd is `mailproof version`.
func versionCmd(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("version", versionUsage, nil, stdout, stderr)
	if help, err := fs.parse(args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fs.fail("takes no arguments, got %q", fs.Arg(0))
	}
	info, _ := debug.ReadBuildInfo()
	_, err := io.WriteString(stdout, versionLine(version, info)+"\n")
	return err
}

// versionLine is "mailproof VERSION [COMMIT TIME] GO": the stamped version if there is
// one; else the main module's version (a release, or the pseudo-version go build
// derives from the checkout); else the VCS revision, short, with "+dirty" for
// uncommitted changes, and its commit time; else "(devel)". info may be nil.
func versionLine(stamped string, info *debug.BuildInfo) string {
	goVersion := runtime.Version()
	if info != nil && info.GoVersion != "" {
		goVersion = info.GoVersion
	}
	fields := []string{"mailproof"}
	switch {
	case stamped != "":
		fields = append(fields, stamped)
	case info != nil && info.Main.Version != "" && info.Main.Version != "(devel)":
		fields = append(fields, info.Main.Version)
	default:
		fields = append(fields, vcsVersion(info)...)
	}
	return strings.Join(append(fields, goVersion), " ")
}

// vcsVersion is the revision and commit time go build recorded from the checkout, or
// "(devel)" when it recorded none (-buildvcs=false, or no checkout).
func vcsVersion(info *debug.BuildInfo) []string {
	var rev, at, dirty string
	if info != nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
	}
	if rev == "" {
		return []string{"(devel)"}
	}
	if len(rev) > 12 {
		rev = rev[:12] // as Go's pseudo-versions abbreviate it
	}
	if at == "" {
		return []string{rev + dirty}
	}
	return []string{rev + dirty, at}
}
