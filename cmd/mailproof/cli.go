package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mailproof/mailproof/server"
)

// Exit statuses, the same for every command: scripts tell a mistake on the command line
// (nothing was tried) from a command that ran and failed.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// errUsage marks a mistake on the command line: the caller already printed why.
var errUsage = errors.New("invalid usage")

// usageError is a mistake on the command line that carries its reason for main to print.
// errors.Is(err, errUsage) holds for it.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

// usagef returns a usage error saying what is wrong with the command line.
func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// exitStatus is the one place run's error becomes the process's exit status: 0 for
// success, 2 for a usage mistake, 1 for anything else. It prints the error on stderr,
// unless it is the bare errUsage, whose reason the command printed already.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if err != errUsage {
		fmt.Fprintln(stderr, "mailproof:", err)
	}
	if errors.Is(err, errUsage) {
		return exitUsage
	}
	return exitFailure
}

// flags is a leaf command's flag set with its usage text and the environment variables
// it reads. Every command parses through it, so they all answer alike: -h, -help and
// --help print the usage, flags and variables on stdout and succeed; a bad flag prints
// the flag package's complaint and the same text on stderr and is a usage error.
type flags struct {
	*flag.FlagSet
	usage string
	env   []string // names from server.Settings
	// optionalEnv drops serve's "required" from the variables: the command does without.
	optionalEnv bool
	stdout      io.Writer
	stderr      io.Writer
}

// newFlags returns the flag set of the command name ("pending list"). usage says how to
// call it and what it does; env names the MAILPROOF_* variables it reads.
func newFlags(name, usage string, env []string, stdout, stderr io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the usage itself, on the stream the case calls for
	return &flags{FlagSet: fs, usage: usage, env: env, stdout: stdout, stderr: stderr}
}

// parse parses args, which end at the first positional argument. help is true when help
// was asked for and printed: the command has nothing more to do.
func (f *flags) parse(args []string) (help bool, err error) {
	err = f.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.printUsage(f.stdout)
		return true, nil
	case err != nil:
		f.printUsage(f.stderr)
		return false, errUsage
	}
	return false, nil
}

// parseInterleaved parses flags that may come before or after the positional arguments
// (`pending show ID --json` as well as `pending show --json ID`), which the flag package
// alone stops at, and returns the positional ones. A lone "--" ends the flags, for an
// argument that starts with a dash.
func (f *flags) parseInterleaved(args []string) (rest []string, help bool, err error) {
	for {
		if help, err := f.parse(args); help || err != nil {
			return nil, help, err
		}
		if consumed := len(args) - f.NArg(); consumed > 0 && args[consumed-1] == "--" {
			return append(rest, f.Args()...), false, nil
		}
		if f.NArg() == 0 {
			return rest, false, nil
		}
		rest = append(rest, f.Arg(0))
		args = f.Args()[1:]
	}
}

// fail reports a mistake on the command line, then the usage, on stderr.
func (f *flags) fail(format string, a ...any) error {
	fmt.Fprintf(f.stderr, f.Name()+": "+format+"\n", a...)
	f.printUsage(f.stderr)
	return errUsage
}

// printUsage writes the usage text, the flags and the environment variables to w.
func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintln(w, f.usage)
	hasFlags := false
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(f.stderr)
	}
	if len(f.env) > 0 {
		fmt.Fprintln(w, "\nEnvironment:")
		fmt.Fprint(w, envHelp(f.env, !f.optionalEnv))
	}
}

// envHelp describes the named variables from serve's settings table, in the layout of
// the flag package's defaults, so a command's help cannot disagree with what it reads.
// required says whether to mark the ones serve requires.
func envHelp(names []string, required bool) string {
	settings := server.Settings()
	var b strings.Builder
	for _, name := range names {
		for _, s := range settings {
			if s.Name != name {
				continue
			}
			var notes []string
			switch {
			case s.Required && required:
				notes = append(notes, "required")
			case s.Default != "":
				notes = append(notes, "default "+strconv.Quote(s.Default))
			}
			if s.Secret {
				notes = append(notes, "or "+s.Name+"_FILE")
			}
			fmt.Fprintf(&b, "  %s", s.Name)
			if len(notes) > 0 {
				fmt.Fprintf(&b, " (%s)", strings.Join(notes, "; "))
			}
			fmt.Fprintf(&b, "\n    \t%s\n", s.Help)
		}
	}
	return b.String()
}
