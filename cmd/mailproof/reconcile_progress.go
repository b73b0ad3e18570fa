package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mailproof/mailproof/proof"
)

// plainEvery is how often reconcile prints a progress line when stderr is no terminal.
const plainEvery = 2 * time.Second

// reconcileProgress shows how reconcile is getting on, on stderr: a bar on a terminal
// (through the search's range, or a spinner over the export's lines; then over the
// queued jobs), else a plain line every plainEvery (logs, CI, a pipe).
type reconcileProgress struct {
	w        io.Writer
	terminal bool
	bar      *progressbar.ProgressBar
	last     time.Time // when the last plain line was printed
	shown    int       // the finished jobs it counted
}

func newReconcileProgress(w io.Writer, terminal bool) *reconcileProgress {
	return &reconcileProgress{w: w, terminal: terminal}
}

// isTerminal reports whether w is a terminal a bar can redraw on.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func barOptions(w io.Writer, description string, extra ...progressbar.Option) []progressbar.Option {
	return append([]progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionSetSpinnerChangeInterval(0), // no goroutine of its own
	}, extra...)
}

// sweep is the Sweeper's Progress: it hears after each search window or export batch.
func (p *reconcileProgress) sweep(s proof.SweepProgress) {
	what := fmt.Sprintf("reconcile (%s): %d found, %d checked, %d queued", s.Path, s.Found, s.Checked, s.Queued)
	if p.terminal {
		if p.bar == nil {
			total := int64(-1) // the export's length is unknown: a spinner
			if s.Path == proof.PathSearch {
				total = max(int64(s.To.Sub(s.From)/time.Second), 1)
			}
			p.bar = progressbar.NewOptions64(total, barOptions(p.w, what)...)
		}
		p.bar.Describe(what)
		if s.Path == proof.PathSearch {
			_ = p.bar.Set64(int64(s.Pos.Sub(s.From) / time.Second)) // an error is only past the end
		} else {
			_ = p.bar.Set64(s.Lines)
		}
		return
	}
	if time.Since(p.last) < plainEvery {
		return
	}
	p.last = time.Now()
	if s.Path == proof.PathSearch {
		fmt.Fprintf(p.w, "%s; searched up to %s of %s\n", what, s.Pos.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(p.w, "%s; %d export lines read\n", what, s.Lines)
	}
}

// sweepDone settles the sweep's bar where it stopped.
func (p *reconcileProgress) sweepDone() { p.close() }

// waitStart starts the bar over the queued jobs.
func (p *reconcileProgress) waitStart(jobs int) {
	p.last, p.shown = time.Time{}, -1
	if p.terminal {
		p.bar = progressbar.NewOptions64(int64(jobs), barOptions(p.w, "jobs finished",
			progressbar.OptionShowCount(), progressbar.OptionSetItsString("jobs"))...)
		return
	}
	fmt.Fprintf(p.w, "reconcile: waiting for %d queued job(s); a worker runs in this process meanwhile\n", jobs)
}

// waited shows how many of the queued jobs have an outcome.
func (p *reconcileProgress) waited(done, jobs int) {
	if p.bar != nil {
		_ = p.bar.Set64(int64(done))
		return
	}
	if done == p.shown || (time.Since(p.last) < plainEvery && done < jobs) {
		return
	}
	p.last, p.shown = time.Now(), done
	fmt.Fprintf(p.w, "reconcile: %d of %d job(s) finished\n", done, jobs)
}

// waitDone settles the jobs' bar.
func (p *reconcileProgress) waitDone() { p.close() }

func (p *reconcileProgress) close() {
	if p.bar == nil {
		return
	}
	_ = p.bar.Exit()
	fmt.Fprintln(p.w)
	p.bar = nil
}
