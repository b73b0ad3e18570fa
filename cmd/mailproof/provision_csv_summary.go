package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/proof"
)

// maxProblemsShown is how many bad or failed rows the summary lists; the results file
// has them all.
const maxProblemsShown = 10

// csvSummary is what a bulk run did: printed at its end, and returned so the command
// can choose its exit code with rowsErr.
type csvSummary struct {
	Rows        int            // data rows with a result, bad ones included
	Statuses    map[string]int // rows by results-file status
	Deliveries  map[string]int // good rows by delivery: sent, or with DryRun to send
	Problems    []string       // the first maxProblemsShown bad or failed rows, addresses masked
	Elapsed     time.Duration
	Results     string // the results file
	KeptResults string // where an earlier results file was moved; "" if none
	DryRun      bool
	Interrupted bool // ctx was cancelled before every row was read
}

func newCSVSummary(opts csvOptions) csvSummary {
	return csvSummary{Statuses: map[string]int{}, Deliveries: map[string]int{},
		Results: opts.Results, DryRun: opts.DryRun}
}

// bad is the rows never sent because of what the file says.
func (s *csvSummary) bad() int { return s.Statuses[statusInvalid] + s.Statuses[statusDuplicate] }

// failed is the rows sent that did not end provisioned and delivered to.
func (s *csvSummary) failed() int {
	return s.Statuses[statusError] + s.Statuses[statusUserExists] + s.Statuses[proof.ProvisionUncertain]
}

// rowsErr is the command's error once the run itself succeeded. Rows that failed
// (error, user_exists, delivery_uncertain) make it non-nil: each needs a re-run or a
// decision, and a script must not take the run for done. Rows skipped as invalid or
// duplicate do not: they are facts about the file that --dry-run shows before anything
// is sent, the summary and the results file list them, and a duplicate's address was
// provisioned by its earlier row.
func (s *csvSummary) rowsErr() error {
	if n := s.failed(); n > 0 {
		return fmt.Errorf("provision: %d of %d rows failed: see the status and error columns of %s; re-running the same command retries them", n, s.Rows, s.Results)
	}
	return nil
}

// record counts one row's result.
func (s *csvSummary) record(out rowResult) {
	s.Rows++
	s.Statuses[out.status]++
	switch out.status {
	case statusInvalid, statusDuplicate, statusError, statusUserExists, proof.ProvisionUncertain:
		if len(s.Problems) < maxProblemsShown {
			s.Problems = append(s.Problems, problemLine(out))
		}
	}
	if out.status != statusInvalid && out.status != statusDuplicate {
		d := out.row.req.Delivery
		if d == "" {
			d = proof.DeliveryResetEmail
		}
		s.Deliveries[d]++
	}
}

// problemLine describes a bad or failed row for the terminal or a log: never the
// whole address.
func problemLine(out rowResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d", out.row.line)
	if out.row.email != "" {
		b.WriteString(", " + oneLine(event.MaskEmail(out.row.email))) // a bad row's may hold anything
	}
	text := out.row.reason // a bad row's reason never quotes the row
	if text == "" {
		text = out.errText
		for _, e := range []string{out.row.email, event.NormalizeEmail(out.row.email)} {
			if e != "" {
				text = strings.ReplaceAll(text, e, event.MaskEmail(e))
			}
		}
	}
	fmt.Fprintf(&b, ": %s: %s", out.status, oneLine(text))
	return b.String()
}

// print writes the summary for a person.
func (s *csvSummary) print(w io.Writer) {
	rate := float64(s.Rows) / max(s.Elapsed.Seconds(), 1e-9)
	what := "provision"
	if s.DryRun {
		what = "provision --dry-run (nothing sent)"
	}
	if s.Interrupted {
		what += " interrupted"
	}
	fmt.Fprintf(w, "%s: %d rows in %s (%.0f rows/s); results in %s\n",
		what, s.Rows, s.Elapsed.Round(time.Millisecond), rate, s.Results)
	if counts := s.statusCounts(); counts != "" {
		fmt.Fprintf(w, "  %s\n", counts)
	}
	if s.DryRun && len(s.Deliveries) > 0 {
		var parts []string
		for _, d := range slices.Sorted(maps.Keys(s.Deliveries)) {
			parts = append(parts, fmt.Sprintf("%s %d", d, s.Deliveries[d]))
		}
		fmt.Fprintf(w, "  would provision by delivery: %s\n", strings.Join(parts, ", "))
	}
	if s.KeptResults != "" {
		fmt.Fprintf(w, "  the earlier results file was kept as %s\n", s.KeptResults)
	}
	if len(s.Problems) > 0 {
		fmt.Fprintf(w, "  first problems (the results file has them all):\n")
		for _, p := range s.Problems {
			fmt.Fprintf(w, "    %s\n", p)
		}
	}
}

// statusCounts lists the non-zero statuses, the results of a send first.
func (s *csvSummary) statusCounts() string {
	order := []string{proof.ProvisionCreated, proof.ProvisionAdopted, proof.ProvisionResumed,
		proof.ProvisionDone, statusWouldProvision, proof.ProvisionUncertain, statusUserExists,
		statusError, statusInvalid, statusDuplicate}
	for _, st := range slices.Sorted(maps.Keys(s.Statuses)) {
		if !slices.Contains(order, st) {
			order = append(order, st)
		}
	}
	var parts []string
	for _, st := range order {
		n := s.Statuses[st]
		if n == 0 {
			continue
		}
		part := fmt.Sprintf("%s %d", st, n)
		if st == proof.ProvisionDone {
			part += " (done by an earlier run)"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}
