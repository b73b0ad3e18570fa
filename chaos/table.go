//go:build linux

package chaos

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table: its label, its value per phase, and whether it
// must be 0 (or, for the eligible row, equal to the eligible users).
type row struct {
	label string
	value func(result) int64
	check string // "zero", "all-eligible" or ""
}

var rows = []row{
	{"users", func(r result) int64 { return int64(r.users) }, ""},
	{"  eligible (must be flipped once)", func(r result) int64 { return int64(r.eligible) }, ""},
	{"  ineligible (must stay unflipped)", func(r result) int64 { return int64(r.ineligible) }, ""},
	{"events sent (replays included)", func(r result) int64 { return int64(r.sent) }, ""},
	{"  replays: same webhook-id, late", func(r result) int64 { return int64(r.replays) }, ""},
	{"events accepted (202)", func(r result) int64 { return int64(r.accepted) }, ""},
	{"events answered 503", func(r result) int64 { return int64(r.unavailable) }, ""},
	{"events timed out or cut off (no answer)", func(r result) int64 { return int64(r.lost) }, ""},
	{"eligible users flipped exactly once", func(r result) int64 { return int64(r.eligibleOnce) }, "all-eligible"},
	{"eligible users flipped more than once", func(r result) int64 { return int64(r.eligibleTwice) }, "zero"},
	{"eligible users never flipped", func(r result) int64 { return int64(r.eligibleNo) }, "zero"},
	{"ineligible users flipped", func(r result) int64 { return int64(r.ineligibleFlipped) }, "zero"},
	{"ineligible users set then taken back", func(r result) int64 { return int64(r.takenBack) }, ""},
	{"accepted events without a final outcome", func(r result) int64 { return int64(r.withoutOutcome) }, "zero"},
	{"second PATCHes (email_verified true again)", func(r result) int64 { return int64(r.secondPatches) }, "zero"},
	{"jobs left in the stream", func(r result) int64 { return r.queued }, "zero"},
	{"jobs in the pending list (in flight)", func(r result) int64 { return r.inFlight }, "zero"},
	{"jobs in the delayed set", func(r result) int64 { return r.delayed }, "zero"},
	{"dead letters", func(r result) int64 { return r.dead }, "zero"},
	{"undos waiting", func(r result) int64 { return r.undos }, "zero"},
}

// report prints the table and returns the failed checks.
func report(w io.Writer, cfg Config, phases []*phase, took time.Duration) []string {
	var failed []string
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Labels read left-aligned: each is padded to the longest, so the right
	// alignment of the numbers leaves them alone.
	width := 0
	for _, rw := range rows {
		width = max(width, len(rw.label))
	}
	pad := func(label string) string { return fmt.Sprintf("%-*s", width, label) }
	header := pad("") + "\t"
	for _, p := range phases {
		header += p.name + "\t"
	}
	fmt.Fprintf(w, "\nchaos: seed %d, duration %s, %g logins/s, took %s (replay: make chaos CHAOS_SEED=%d CHAOS_DURATION=%s CHAOS_RATE=%g)\n\n",
		cfg.Seed, cfg.Duration, cfg.Rate, took.Round(time.Second), cfg.Seed, cfg.Duration, cfg.Rate)
	fmt.Fprintln(tw, header+"total\tmust be\t")
	for _, rw := range rows {
		line := pad(rw.label) + "\t"
		var total, eligible int64
		for _, p := range phases {
			v := rw.value(p.result)
			total += v
			eligible += int64(p.result.eligible)
			line += fmt.Sprint(v) + "\t"
		}
		must := ""
		switch rw.check {
		case "zero":
			must = "0"
			if total != 0 {
				failed = append(failed, fmt.Sprintf("%s: %d, must be 0", strings.TrimSpace(rw.label), total))
			}
		case "all-eligible":
			must = "= eligible"
			if total != eligible {
				failed = append(failed, fmt.Sprintf("%s: %d of %d eligible", rw.label, total, eligible))
			}
		}
		fmt.Fprintln(tw, line+fmt.Sprint(total)+"\t"+must+"\t")
	}
	// The faults, by kind.
	kinds := map[string]bool{}
	for _, p := range phases {
		for k := range p.faults {
			kinds[k] = true
		}
	}
	sorted := make([]string, 0, len(kinds))
	for k := range kinds {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	fmt.Fprintln(tw, pad("faults injected")+"\t\t\t\t\t")
	for _, k := range sorted {
		line := pad("  "+k) + "\t"
		total := 0
		for _, p := range phases {
			line += fmt.Sprint(p.faults[k]) + "\t"
			total += p.faults[k]
		}
		fmt.Fprintln(tw, line+fmt.Sprint(total)+"\t\t")
	}
	line := pad("drain after the last fault") + "\t"
	for _, p := range phases {
		line += p.drained.Round(time.Second).String() + "\t"
	}
	fmt.Fprintln(tw, line+"\t\t")
	tw.Flush()
	for _, p := range phases {
		if p.drainErr != nil {
			failed = append(failed, fmt.Sprintf("phase %s: %v", p.name, p.drainErr))
		}
		if p.result.statsErr != nil {
			failed = append(failed, fmt.Sprintf("phase %s: reading the counts: %v", p.name, p.result.statsErr))
		}
	}
	if len(failed) == 0 {
		fmt.Fprintln(w, "\nchaos: PASS")
	} else {
		fmt.Fprintln(w, "\nchaos: FAIL")
		for _, f := range failed {
			fmt.Fprintln(w, "  "+f)
		}
	}
	return failed
}
