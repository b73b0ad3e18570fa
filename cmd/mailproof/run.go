package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const usage = `mailproof: flips email_verified on Auth0 users once a login proves mailbox access.

Usage:
  mailproof serve               receiver + worker + ops listener, configured from MAILPROOF_* variables
  mailproof local               everything in one process with no setup (embedded Redis, Auth0 emulator)
  mailproof sign [flags] FILE|- sign a JSON body like the Action does and print the headers
  mailproof audit [--user ID]   read the audit trail of decisions
  mailproof provision           create users unverified and send them the reset email (one, or --csv)
  mailproof pending CMD         list, show, add or rm (remove) the records of users awaiting proof
  mailproof dlq CMD             list or replay jobs that exhausted their retries
  mailproof reconcile           sweep Auth0 now for logins whose webhook never arrived, and act on them
  mailproof doctor [--url URL]  check this deployment (Redis, Auth0 grant and scopes, the Action, the secret)
  mailproof action deploy       create or update the post-login Action in the tenant and bind it
  mailproof help                this text

Run 'mailproof COMMAND -h' for a command's flags. Configuration: see the README.`

// errUsage marks a mistake on the command line: the caller already printed why.
var errUsage = errors.New("invalid usage")

// run is main without the process: tests call it with their own environment and streams.
// SIGINT and SIGTERM cancel ctx, which every long-running command honours.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "local":
		return local(ctx, rest, getenv, stdout, stderr)
	case "sign":
		return sign(rest, getenv, stdout, stderr)
	case "audit":
		return audit(ctx, rest, getenv, stdout, stderr)
	case "action":
		return action(ctx, rest, getenv, stdout, stderr)
	case "pending":
		return pending(ctx, rest, getenv, stdout, stderr)
	case "provision":
		return provisionCmd(ctx, rest, getenv, stdout, stderr)
	case "dlq":
		return dlq(ctx, rest, getenv, stdout, stderr)
	case "doctor":
		return doctorCmd(ctx, rest, getenv, stdout, stderr)
	case "reconcile":
		return reconcileCmd(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s\n", cmd, usage)
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
