package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/proof"
)

// TestReconcileProgress drives both displays through a search, an export and the wait:
// the bar (as on a terminal) and the plain lines (a pipe), each naming what it counts.
func TestReconcileProgress(t *testing.T) {
	from := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	steps := func(p *reconcileProgress) {
		p.sweep(proof.SweepProgress{Path: proof.PathSearch, From: from, To: from.Add(time.Hour), Pos: from.Add(30 * time.Minute), Found: 3, Checked: 2, Queued: 1})
		p.sweepDone()
		p.sweep(proof.SweepProgress{Path: proof.PathExport, Lines: 500, Found: 7})
		p.sweepDone()
		p.waitStart(2)
		p.waited(1, 2)
		p.waited(2, 2)
		p.waitDone()
	}
	tests := []struct {
		name     string
		terminal bool
		want     []string
	}{
		{"terminal", true, []string{"reconcile (search): 3 found, 2 checked, 1 queued", "50%", "reconcile (export): 7 found", "jobs finished", "2/2"}},
		{"plain", false, []string{"searched up to 2026-12-05T09:30:00Z of 2026-12-05T10:00:00Z", "waiting for 2 queued job(s)", "2 of 2 job(s) finished"}},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		steps(newReconcileProgress(&out, tc.terminal))
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%q", tc.name, w, out.String())
			}
		}
	}
}
