package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// reconcileSummary is what one reconcile run did, as the table and the JSON show it.
type reconcileSummary struct {
	Run      string    `json:"run"`
	Path     string    `json:"path"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Resumed  bool      `json:"resumed"`
	Complete bool      `json:"complete"`
	DryRun   bool      `json:"dry_run"`
	// Found: users the search or export returned with mailproof's marker; Checked: those
	// of them with a record; NotPending: those without one waiting (verified or closed
	// before, or never registered).
	Found      int `json:"found"`
	Checked    int `json:"checked"`
	NotPending int `json:"not_pending"`
	// Queued: jobs this run queued; AlreadyQueued: finds an earlier run had queued.
	Queued        int `json:"queued"`
	AlreadyQueued int `json:"already_queued"`
	// Flipped: jobs that ended verified. Closed: jobs that closed the record, by outcome.
	Flipped int            `json:"flipped"`
	Closed  map[string]int `json:"closed"`
	// Waiting: records left pending, by the reason the find or its job showed.
	Waiting map[string]int `json:"waiting"`
	Expired int            `json:"expired"`
	// DeadLetters and StillQueued name the users of the jobs that failed, and of those
	// without an outcome when the wait ended.
	DeadLetters []string `json:"dead_letters"`
	StillQueued []string `json:"still_queued"`
	// A dry run's: the finds a job would read afresh and perhaps flip, and those it would
	// close on what the sweep saw.
	WouldCheck int            `json:"would_check,omitempty"`
	WouldClose map[string]int `json:"would_close,omitempty"`
	Calls      reconcileCalls `json:"calls"`
	Seconds    float64        `json:"duration_seconds"`
}

// reconcileCalls counts Management API calls: the sweep's own (search, export, polls)
// and those its jobs made (fresh reads, PATCHes, undos).
type reconcileCalls struct {
	Sweep int `json:"sweep"`
	Jobs  int `json:"jobs"`
	Total int `json:"total"`
}

// waitingOutcomes are the outcomes that leave a record pending: the non-terminal
// rules', read from the policy table so the two cannot disagree. Every other outcome
// of a job closes its record (the terminal rules, the fresh read's changes, a deleted
// user, a record gone).
var waitingOutcomes = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range proof.Rules() {
		if !r.Terminal && r.Outcome != "" {
			m[r.Outcome] = true
		}
	}
	return m
}()

// summarize sorts the run's finds and its jobs' outcomes into the summary.
func summarize(rep proof.SweepReport, outcomes map[store.QueuedJob]store.AuditEntry, jobCalls int) reconcileSummary {
	s := reconcileSummary{
		Run: rep.Run, Path: rep.Path, From: rep.From, To: rep.To, Resumed: rep.Resumed, Complete: rep.Complete, DryRun: rep.DryRun,
		Found: rep.Found, Checked: rep.Checked, Closed: map[string]int{}, Waiting: map[string]int{},
		DeadLetters: []string{}, StillQueued: []string{},
		Calls:   reconcileCalls{Sweep: rep.CallsTotal(), Jobs: jobCalls, Total: rep.CallsTotal() + jobCalls},
		Seconds: rep.Duration.Seconds(),
	}
	for res, n := range rep.Results {
		switch {
		case res == proof.SweepQueued:
			s.Queued += n
		case res == proof.SweepAlreadyQueued:
			s.AlreadyQueued += n
		case res == proof.OutcomeNotPending:
			s.NotPending += n
		case res == proof.SweepExpired:
			s.Expired += n
		case res == proof.SweepWouldCheck:
			s.WouldCheck += n
		case waitingOutcomes[res]:
			s.Waiting[res] += n
		default: // a terminal rule on what the sweep saw: only a dry run counts it here
			if s.WouldClose == nil {
				s.WouldClose = map[string]int{}
			}
			s.WouldClose[res] += n
		}
	}
	for _, j := range rep.Queued {
		e, ok := outcomes[j]
		switch {
		case !ok:
			s.StillQueued = append(s.StillQueued, j.UserID)
		case e.Outcome == proof.OutcomeVerified:
			s.Flipped++
		case e.Outcome == store.AuditDeadLetter:
			s.DeadLetters = append(s.DeadLetters, j.UserID)
		case waitingOutcomes[e.Outcome]:
			s.Waiting[e.Outcome]++
		default:
			s.Closed[e.Outcome]++
		}
	}
	slices.Sort(s.DeadLetters)
	slices.Sort(s.StillQueued)
	return s
}

// print writes the summary as a table: a name, a count, what it means.
func (s reconcileSummary) print(w io.Writer) error {
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	// The run's own rows have one text cell, so a long id or range does not widen the
	// count column under them.
	about := func(name, text string) { fmt.Fprintf(tw, "%s\t%s\n", name, text) }
	row := func(name string, value any, note string) { fmt.Fprintf(tw, "%s\t%v\t%s\n", name, value, note) }
	byReason := func(m map[string]int) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			row("  "+k, m[k], "")
		}
	}
	about("run", s.Run)
	if s.Path == proof.PathSearch {
		about("path", "search: logins and changes in Auth0 from "+s.From.UTC().Format(time.RFC3339)+" to "+s.To.UTC().Format(time.RFC3339))
	} else {
		about("path", "export: every user in the tenant")
	}
	about("resumed", map[bool]string{false: "no", true: "yes: carried on where an interrupted run stopped"}[s.Resumed])
	about("complete", map[bool]string{true: "yes", false: "no: stopped early (--limit or an error); the next run resumes it"}[s.Complete])
	row("found", s.Found, "provisioned users who logged in or changed")
	row("checked", s.Checked, "of them with a record")
	row("not pending", s.NotPending, "found without a record waiting (verified or closed before)")
	if s.DryRun {
		row("would check", s.WouldCheck, "a job would read the user afresh and flip if the proof holds")
		row("would close", sum(s.WouldClose), "")
		byReason(s.WouldClose)
	} else {
		row("queued", s.Queued, fmt.Sprintf("jobs for the worker; %d more already queued by an earlier run", s.AlreadyQueued))
		row("flipped", s.Flipped, "email_verified set (outcome verified)")
		row("closed", sum(s.Closed), "records closed without a flip")
		byReason(s.Closed)
	}
	row("still waiting", sum(s.Waiting), "records left pending until a password login after a reset")
	byReason(s.Waiting)
	row("expired", s.Expired, "records past MAILPROOF_PENDING_TTL")
	if !s.DryRun {
		row("errors", len(s.DeadLetters)+len(s.StillQueued), "")
		if n := len(s.DeadLetters); n > 0 {
			row("  dead_letter", n, someIDs(s.DeadLetters)+": see mailproof dlq list")
		}
		if n := len(s.StillQueued); n > 0 {
			row("  still queued", n, "the serve workers will finish them; see mailproof audit --user "+someIDs(s.StillQueued))
		}
	}
	if s.DryRun {
		row("calls used", s.Calls.Total, "Management API, by the sweep (a dry run queues no job)")
	} else {
		row("calls used", s.Calls.Total, fmt.Sprintf("Management API: %d by the sweep, %d by its jobs", s.Calls.Sweep, s.Calls.Jobs))
	}
	row("took", time.Duration(s.Seconds*float64(time.Second)).Round(time.Millisecond), "finding and queuing (the jobs run after)")
	if err := tw.Flush(); err != nil {
		return err
	}
	// Rows without a note would end in the padding of their count.
	for line := range strings.Lines(table.String()) {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	if s.DryRun {
		_, err := fmt.Fprintln(w, "dry run: nothing was changed (no job queued, no cursor moved, no user touched in Auth0)")
		return err
	}
	return nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// someIDs names the first few users of a list, for a line a person reads.
func someIDs(ids []string) string {
	const shown = 3
	some := make([]string, 0, shown)
	for _, id := range ids[:min(len(ids), shown)] {
		some = append(some, oneLine(id))
	}
	if len(ids) <= shown {
		return strings.Join(some, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(some, ", "), len(ids)-shown)
}
