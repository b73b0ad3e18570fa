package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/store"
)

const reconcileUsage = `Usage:
  mailproof reconcile [--dry-run] [--limit N] [--wait D] [--json]

Runs one reconcile sweep now, as serve does every MAILPROOF_RECONCILE_INTERVAL: it
looks in Auth0 for the users mailproof provisioned who logged in or changed since
the last sweep, and queues a job for each whose login may prove mailbox access
(or whose change closes its record). Then it waits up to --wait for those jobs,
running a worker in this process meanwhile (so it works with no serve running;
beside serve it shares the Management API budget through Redis), and prints what
happened to each: flipped, closed, still waiting, expired, errors, and the
Management API calls it took.

Only one replica or command sweeps at a time: if one is sweeping now, this
command says so and exits 1. A run stopped by --limit or an interruption is
resumed from its cursor by the next one. Exits 1 when a job was dead-lettered.`

// reconcileSettings are the variables reconcile reads besides Redis's and Auth0's: the
// sweep's path choice and the in-process worker's, so it works like serve's.
var reconcileSettings = []string{
	"MAILPROOF_RECONCILE_EXPORT_ABOVE", "MAILPROOF_WORKERS", "MAILPROOF_VISIBILITY_TIMEOUT",
	"MAILPROOF_MAX_ATTEMPTS", "MAILPROOF_RETRY_BASE", "MAILPROOF_RETRY_MAX",
}

// errSweepBusy is what reconcile says when another replica holds the sweep lock.
var errSweepBusy = errors.New("another replica is sweeping right now; try again later")

// reconcileCmd is `mailproof reconcile`.
func reconcileCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("reconcile", reconcileUsage, tenantSettings(reconcileSettings...), stdout, stderr)
	dryRun := fs.Bool("dry-run", false, "find and judge the candidates and print what would be done; queue nothing, move no cursor, change no user")
	limit := fs.Int("limit", 0, "stop after queuing this many jobs (0: no limit); the next run resumes where this one stopped")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the queued jobs' outcomes, running a worker meanwhile (0: do not wait)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	if help, err := fs.parse(args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 || *limit < 0 || *wait < 0 {
		return fs.fail("takes no arguments; --limit and --wait must not be negative")
	}
	// The worker's log lines and the progress display share stderr from two goroutines.
	terminal := isTerminal(stderr)
	stderr = zapcore.Lock(zapcore.AddSync(stderr))
	progress := newReconcileProgress(stderr, terminal)
	t, err := openTenant(ctx, getenv, stderr, reconcileSettings...)
	if err != nil {
		return err
	}
	defer t.Close()
	// The sweep as serve builds it; its metrics have nobody to scrape them here.
	s, err := server.NewSweeper(t.cfg, t.rdb, t.a0, t.log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	s.Config.Limit, s.Config.DryRun = *limit, *dryRun
	s.Progress = progress.sweep

	rep, sweepErr := s.Sweep(ctx)
	progress.sweepDone()
	switch {
	case errors.Is(sweepErr, proof.ErrSweepBusy):
		return errSweepBusy
	case sweepErr != nil && rep.Run == "":
		return fmt.Errorf("reconcile sweep: %w", sweepErr)
	}
	var outcomes map[store.QueuedJob]store.AuditEntry
	var waitErr error
	if !*dryRun && *wait > 0 && len(rep.Queued) > 0 && ctx.Err() == nil {
		outcomes, waitErr = awaitJobs(ctx, t, rep.Queued, *wait, progress)
	}
	// The last reads run even after a Ctrl-C: the summary is what the person asked for.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	jobCalls := 0
	if !*dryRun {
		if jobCalls, err = t.rdb.SweepCalls(rctx, rep.Run); err != nil {
			t.log.Warn("cannot read the calls of this run's jobs; the summary counts the sweep's own only", zap.Error(err))
		}
	}
	sum := summarize(rep, outcomes, jobCalls)
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(sum)
	} else {
		err = sum.print(stdout)
	}
	if err != nil {
		return err
	}
	switch {
	case sweepErr != nil:
		return fmt.Errorf("reconcile sweep %s stopped: %w; the next run resumes it from its cursor", rep.Run, sweepErr)
	case waitErr != nil:
		return fmt.Errorf("wait for the sweep's jobs: %w; the serve workers will finish them", waitErr)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted; %d job(s) still queued: the serve workers will finish them", len(sum.StillQueued))
	case len(sum.DeadLetters) > 0:
		return fmt.Errorf("%d reconcile job(s) were dead-lettered: see mailproof dlq list", len(sum.DeadLetters))
	}
	return nil
}
