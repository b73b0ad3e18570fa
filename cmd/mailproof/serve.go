package main

import (
	"context"
	"flag"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailproof/mailproof/server"
)

// serve runs the receiver, the worker and the ops listener from MAILPROOF_* variables.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
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
