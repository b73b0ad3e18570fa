package main

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/store"
)

// outcomePoll is how often reconcile reads the audit trail for its jobs' outcomes.
const outcomePoll = 500 * time.Millisecond

// awaitJobs runs a worker in this process until every job has an outcome in the audit
// trail, wait runs out or ctx ends, and returns the outcomes seen. The worker is serve's,
// on its configuration, and takes whatever job is queued, like another replica: jobs
// are shared through Redis, and so is the Management API budget. A job still in hand
// when the waiting ends is finished before the worker stops.
func awaitJobs(ctx context.Context, t *cliTenant, jobs []store.QueuedJob, wait time.Duration, p *reconcileProgress) (map[store.QueuedJob]store.AuditEntry, error) {
	// No Redis check (serve's refuses a Redis that evicts or forgets): the jobs are in
	// this Redis already, and a worker taking them changes nothing about that.
	w, err := proof.NewWorker(server.WorkerConfig(t.cfg, nil, nil), t.rdb, t.a0, t.log, prometheus.NewRegistry())
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	got := map[store.QueuedJob]store.AuditEntry{}
	p.waitStart(len(jobs))
	defer p.waitDone()
	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	g, gctx := errgroup.WithContext(wctx)
	g.Go(func() error { return w.Run(gctx) })
	g.Go(func() error {
		defer stopWorker()
		pollOutcomes(gctx, t, jobs, wait, got, p)
		return nil
	})
	err = g.Wait()
	// Jobs the worker finished while it stopped.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	readOutcomes(rctx, t, jobs, got)
	p.waited(len(got), len(jobs))
	return got, err
}

// pollOutcomes reads the outcomes into got every outcomePoll until all jobs have one,
// wait runs out or ctx ends.
func pollOutcomes(ctx context.Context, t *cliTenant, jobs []store.QueuedJob, wait time.Duration, got map[store.QueuedJob]store.AuditEntry, p *reconcileProgress) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(outcomePoll)
	defer tick.Stop()
	for {
		readOutcomes(ctx, t, jobs, got)
		p.waited(len(got), len(jobs))
		if len(got) == len(jobs) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// readOutcomes adds the outcomes of the jobs not in got yet. A failed read is tried
// again on the next tick: only the summary depends on it.
func readOutcomes(ctx context.Context, t *cliTenant, jobs []store.QueuedJob, got map[store.QueuedJob]store.AuditEntry) {
	var open []store.QueuedJob
	for _, j := range jobs {
		if _, ok := got[j]; !ok {
			open = append(open, j)
		}
	}
	if len(open) == 0 {
		return
	}
	found, err := t.rdb.JobOutcomes(ctx, open)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("cannot read the jobs' outcomes from Redis; trying again", zap.Error(err))
		}
		return
	}
	maps.Copy(got, found)
}
