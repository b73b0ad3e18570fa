package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mailproof/mailproof/proof"
)

// provisioner is what the bulk run needs (proof.Provisioner implements it).
type provisioner interface {
	Provision(ctx context.Context, req proof.ProvisionRequest) (proof.ProvisionResult, error)
}

const (
	defaultConcurrency   = 4 // --concurrency's default
	maxConcurrency       = 64
	defaultRowTimeout    = 2 * time.Minute
	defaultProgressEvery = 5 * time.Second
)

// csvOptions configures runCSV: `mailproof provision --csv FILE [--dry-run]
// [--concurrency N] [--results FILE]`.
type csvOptions struct {
	Path        string // the input CSV
	Results     string // the results CSV; "" is Path + ".results.csv"
	DryRun      bool   // read and check every row, report, send nothing
	Concurrency int    // rows provisioned at once, 1 to maxConcurrency
	// Defaults is every row's request before the row's own name, connection and delivery
	// (when not empty) are laid over it: where the command puts --connection, --delivery,
	// --adopt, the ticket options and By.
	Defaults      proof.ProvisionRequest
	RowTimeout    time.Duration // bounds one Provision call; 0 is defaultRowTimeout
	ProgressEvery time.Duration // plain progress lines; 0 is defaultProgressEvery
}

// check fills the defaults and reports every bad option at once.
func (o csvOptions) check() (csvOptions, error) {
	var errs []error
	if o.Path == "" {
		errs = append(errs, errors.New("--csv: no file given"))
	}
	if o.Concurrency < 1 || o.Concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("--concurrency %d: want 1 to %d", o.Concurrency, maxConcurrency))
	}
	if o.Results == "" {
		o.Results = o.Path + ".results.csv"
	}
	if o.RowTimeout <= 0 {
		o.RowTimeout = defaultRowTimeout
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = defaultProgressEvery
	}
	return o, errors.Join(errs...)
}

// runCSV reads the CSV at opts.Path and provisions each good row through p, writing one
// results row per data row. A bad row (unreadable, a wrong field count, not an address,
// an unknown delivery, an address already in an earlier row) is reported with its line
// and never stops the others; a bad header refuses the file before anything is sent.
// p may be nil with DryRun.
//
// Cancelling ctx stops taking rows, lets the rows in flight finish, writes their
// results and returns an error saying so: running the same command again finishes the
// rest, as Provision does nothing twice for an address (those rows show as unchanged).
// Once the run completes, the summary's rowsErr says whether rows failed.
//
// progress gets a bar when isTerminal, else a plain line every ProgressEvery, then the
// summary. Addresses appear there only masked; the results file, the operator's own
// data, has them whole.
func runCSV(ctx context.Context, opts csvOptions, p provisioner, progress io.Writer, isTerminal bool) (csvSummary, error) {
	opts, err := opts.check()
	if err == nil && p == nil && !opts.DryRun {
		err = errors.New("provision: no provisioner") // the command's mistake
	}
	if err != nil {
		return csvSummary{}, err
	}
	f, err := os.Open(opts.Path)
	if err != nil {
		return csvSummary{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return csvSummary{}, err
	}
	total, err := estimateRows(f)
	if err != nil {
		return csvSummary{}, fmt.Errorf("read %s: %w", opts.Path, err)
	}
	rows, err := newRowReader(f, opts.Defaults, total)
	if err != nil {
		return csvSummary{}, fmt.Errorf("%s: %w; nothing was provisioned", opts.Path, err)
	}
	res, err := createResults(opts.Results, st)
	if err != nil {
		return csvSummary{}, fmt.Errorf("results file: %w", err)
	}
	sum := newCSVSummary(opts)
	sum.KeptResults = res.kept
	prog := newCSVProgress(progress, isTerminal, total)
	readErr, writeErr := pump(ctx, opts, rows, p, res, &sum, prog)
	if err := res.close(); writeErr == nil {
		writeErr = err
	}
	sum.Elapsed = time.Since(prog.start)
	sum.Interrupted = readErr != nil && ctx.Err() != nil
	prog.finish(&sum)
	sum.print(progress)
	switch {
	case writeErr != nil:
		return sum, fmt.Errorf("write the results to %s: %w; rows sent before it stopped are not all listed, and re-running the same command lists them as unchanged", opts.Results, writeErr)
	case sum.Interrupted:
		return sum, fmt.Errorf("provision interrupted: %d rows have results in %s; re-running the same command finishes the rest (rows already provisioned show as unchanged)", sum.Rows, opts.Results)
	case readErr != nil:
		return sum, fmt.Errorf("read %s: %w; the rows before it have results in %s", opts.Path, readErr, opts.Results)
	}
	return sum, nil
}

// pump runs the rows through the workers and writes each result, in the order they
// finish, from this goroutine alone. readErr is why reading stopped early: ctx's error
// when it was cancelled; writeErr is the results file's first error, which stops
// reading too.
func pump(ctx context.Context, opts csvOptions, rows *rowReader, p provisioner, res *resultsFile, sum *csvSummary, prog *csvProgress) (readErr, writeErr error) {
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	jobs := make(chan csvRow, opts.Concurrency)
	outs := make(chan rowResult, opts.Concurrency)
	var inFlight atomic.Int64

	var g errgroup.Group
	g.Go(func() error {
		defer close(jobs)
		for runCtx.Err() == nil {
			row, err := rows.next()
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case err != nil:
				return err
			case row.status != "":
				outs <- badRowResult(row)
			case opts.DryRun:
				outs <- rowResult{row: row, status: statusWouldProvision}
			default:
				select {
				case jobs <- row:
				case <-runCtx.Done():
				}
			}
		}
		return context.Cause(runCtx)
	})
	for range opts.Concurrency {
		g.Go(func() error {
			for row := range jobs {
				if runCtx.Err() != nil {
					continue // queued, not started: the re-run's
				}
				inFlight.Add(1)
				out := provisionRow(ctx, p, row, opts.RowTimeout)
				inFlight.Add(-1)
				outs <- out
			}
			return nil
		})
	}
	var rerr error
	go func() {
		rerr = g.Wait() // the only error is the reader's; read once outs is closed
		close(outs)
	}()

	tick := time.NewTicker(opts.ProgressEvery)
	defer tick.Stop()
	interrupted := ctx.Done()
	for {
		select {
		case out, ok := <-outs:
			if !ok {
				return rerr, writeErr
			}
			sum.record(out)
			prog.row()
			if writeErr == nil {
				if writeErr = res.write(out); writeErr != nil {
					stop(writeErr)
				}
			}
		case <-tick.C:
			prog.tick(sum)
			if writeErr == nil {
				if writeErr = res.flush(); writeErr != nil {
					stop(writeErr)
				}
			}
		case <-interrupted:
			interrupted = nil
			prog.note("provision: interrupted: taking no more rows; finishing the %d in flight (each within %s)",
				inFlight.Load(), opts.RowTimeout)
		}
	}
}
