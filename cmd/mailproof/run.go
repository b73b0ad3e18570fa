package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// cmdFunc runs one command with the arguments after its name.
type cmdFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// A command is one word of the command line. A leaf runs; a group (pending, dlq, action,
// and mailproof itself) dispatches to its subs and prints its usage text when asked.
type command struct {
	name     string
	aliases  []string
	synopsis string // how to call it, after "mailproof", for the list of commands
	summary  string // what it does, in one line
	run      cmdFunc
	subs     []command
	usage    string // a group's usage text
}

// root is the whole command line: one entry per command. A new command is a file in
// this package and one entry here; the tests walk this tree, so it gets --help and the
// exit statuses checked with the rest.
func root() command {
	c := command{name: "mailproof", subs: []command{
		{name: "serve", synopsis: "serve", summary: "receiver + worker + ops listener, configured from MAILPROOF_* variables", run: serve},
		{name: "local", synopsis: "local [--demo]", summary: "everything in one process with no setup (embedded Redis, Auth0 emulator)", run: local},
		{name: "sign", synopsis: "sign [flags] FILE|-", summary: "sign a JSON body like the Action does and print the headers", run: sign},
		{name: "audit", synopsis: "audit [--user ID]", summary: "read the audit trail of decisions", run: audit},
		{name: "provision", synopsis: "provision", summary: "create users unverified and send them the reset email (one, or --csv)", run: provisionCmd},
		pendingGroup(),
		dlqGroup(),
		{name: "reconcile", synopsis: "reconcile", summary: "sweep Auth0 now for logins whose webhook never arrived, and act on them", run: reconcileCmd},
		{name: "doctor", synopsis: "doctor [--url URL]", summary: "check this deployment: Redis, the Auth0 grant and scopes, the Action, the secret", run: doctorCmd},
		actionGroup(),
		{name: "keygen", synopsis: "keygen [hmac|ed25519]", summary: "a new webhook signing secret, or an ed25519 key pair", run: keygen},
		{name: "version", synopsis: "version", summary: "the version of this build", run: versionCmd},
	}}
	c.usage = rootUsage(c.subs)
	return c
}

// rootUsage is the list of commands `mailproof help` prints.
func rootUsage(cmds []command) string {
	var b strings.Builder
	b.WriteString("mailproof: flips email_verified on Auth0 users once a login proves mailbox access.\n\nUsage:\n")
	line := func(synopsis, summary string) { fmt.Fprintf(&b, "  mailproof %-22s %s\n", synopsis, summary) }
	for _, c := range cmds {
		line(c.synopsis, c.summary)
	}
	line("help [COMMAND]", "this text, or a command's usage, flags and variables")
	b.WriteString(`
'mailproof COMMAND --help' (or -h, or 'mailproof help COMMAND') prints a command's
usage, flags and the MAILPROOF_* variables it reads; 'mailproof --version' the version.
Exit status: 0 done, 1 the command failed, 2 a mistake on the command line.
Configuration: see the README.`)
	return b.String()
}

// run is main without the process: tests call it with their own environment and streams.
// SIGINT and SIGTERM cancel ctx, which every long-running command honours.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	return root().dispatch(ctx, args, getenv, stdout, stderr)
}

// dispatch runs the leaf c, or the sub of the group c that args name. "help", -h and
// --help print a group's usage on stdout; "help CMD..." is "CMD... --help".
func (c command) dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if c.run != nil {
		return c.run(ctx, args, getenv, stdout, stderr)
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, c.usage)
		return errUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return c.dispatch(ctx, append(slices.Clone(args[1:]), "--help"), getenv, stdout, stderr)
		}
		fmt.Fprintln(stdout, c.usage)
		return nil
	}
	for _, sub := range c.subs {
		if args[0] == sub.name || slices.Contains(sub.aliases, args[0]) {
			return sub.dispatch(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	what := "command"
	if c.name != "mailproof" {
		what = c.name + " command"
	}
	fmt.Fprintf(stderr, "unknown %s %q\n\n%s\n", what, args[0], c.usage)
	return errUsage
}

// newLogger builds the one logger of the process. JSON is for log shippers; console is
// for people watching a terminal (local mode's default).
func newLogger(format, level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.TimeKey = "time"
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(core, zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(w)))), nil
}
