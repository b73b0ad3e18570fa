package main

import (
	"context"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailproof/mailproof/server"
)

const serveUsage = `Usage:
  mailproof serve

Runs the receiver (the Action's events and the admin API), the worker that flips
email_verified, the reconcile sweep and the ops listener (/healthz, /readyz, /metrics
and the status page) until SIGINT or SIGTERM. Everything is configured from the
variables below, read once; every problem with them is reported at once, before
anything listens. Secrets also accept NAME_FILE, a path to a file holding the value.`

// serve runs the receiver, the worker and the ops listener from MAILPROOF_* variables.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("serve", serveUsage, allSettings(), stdout, stderr)
	if help, err := f.parse(args); help || err != nil {
		return err
	}
	if f.NArg() != 0 {
		return f.fail("takes no arguments, got %q", f.Arg(0))
	}
	cfg, err := server.LoadConfig(getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing useful to do if the last flush fails
	return server.Run(ctx, server.Options{
		Config:   cfg,
		Log:      log,
		Registry: prometheus.NewRegistry(),
	})
}

// allSettings names every variable serve reads, in the README's order.
func allSettings() []string {
	var names []string
	for _, s := range server.Settings() {
		names = append(names, s.Name)
	}
	return names
}
