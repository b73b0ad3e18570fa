package main

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// TestSummarizeSortsOutcomes: each job outcome lands where the policy table says it
// leaves the record, and a job without one is still queued.
func TestSummarizeSortsOutcomes(t *testing.T) {
	job := func(u string) store.QueuedJob {
		return store.QueuedJob{UserID: u, WebhookID: store.SourceReconcile + u + ":1"}
	}
	outcomes := map[string]string{
		"auth0|verified": proof.OutcomeVerified,
		"auth0|changed":  proof.OutcomeChangedSinceEvent,
		"auth0|moved":    proof.OutcomeEmailChanged,
		"auth0|gone":     proof.OutcomeUserNotFound,
		"auth0|social":   proof.OutcomeWrongConnection, // not terminal: the record waits
		"auth0|noreset":  proof.OutcomeNoPasswordReset,
		"auth0|dead":     store.AuditDeadLetter,
	}
	rep := proof.SweepReport{Run: "r1", Path: proof.PathSearch, Complete: true, Found: 12, Checked: 10,
		Results: map[string]int{proof.SweepQueued: 8, proof.SweepAlreadyQueued: 1, proof.OutcomeNotPending: 2,
			proof.SweepExpired: 1, proof.OutcomeNoLoginSinceReset: 1},
		Calls: map[string]int{"search": 3}}
	got := map[store.QueuedJob]store.AuditEntry{}
	for u, o := range outcomes {
		rep.Queued = append(rep.Queued, job(u))
		got[job(u)] = store.AuditEntry{UserID: u, Outcome: o}
	}
	rep.Queued = append(rep.Queued, job("auth0|late"))
	s := summarize(rep, got, 9)

	tests := []struct {
		name      string
		got, want any
	}{
		{"flipped", s.Flipped, 1},
		{"closed", s.Closed, map[string]int{proof.OutcomeChangedSinceEvent: 1, proof.OutcomeEmailChanged: 1, proof.OutcomeUserNotFound: 1}},
		{"waiting", s.Waiting, map[string]int{proof.OutcomeWrongConnection: 1, proof.OutcomeNoPasswordReset: 1, proof.OutcomeNoLoginSinceReset: 1}},
		{"dead letters", s.DeadLetters, []string{"auth0|dead"}},
		{"still queued", s.StillQueued, []string{"auth0|late"}},
		{"queued, already queued, not pending, expired", []int{s.Queued, s.AlreadyQueued, s.NotPending, s.Expired}, []int{8, 1, 2, 1}},
		{"calls", s.Calls, reconcileCalls{Sweep: 3, Jobs: 9, Total: 12}},
	}
	for _, tc := range tests {
		if !equalAny(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	var out bytes.Buffer
	if err := s.print(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"errors", "dead_letter", "auth0|dead: see mailproof dlq list", "mailproof audit --user auth0|late"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "nothing was changed") {
		t.Errorf("a real run says nothing was changed:\n%s", out.String())
	}
}

// TestSummarizeDryRun: a dry run's terminal finds are what a job would close.
func TestSummarizeDryRun(t *testing.T) {
	rep := proof.SweepReport{DryRun: true, Path: proof.PathExport, Results: map[string]int{
		proof.SweepWouldCheck: 2, proof.OutcomeAlreadyVerified: 1, proof.OutcomeNoPasswordReset: 3}}
	s := summarize(rep, nil, 0)
	if s.WouldCheck != 2 || !maps.Equal(s.WouldClose, map[string]int{proof.OutcomeAlreadyVerified: 1}) || s.Waiting[proof.OutcomeNoPasswordReset] != 3 {
		t.Errorf("dry run summary %+v", s)
	}
	var out bytes.Buffer
	if err := s.print(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"would check", "would close", "every user", "dry run: nothing was changed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run table lacks %q:\n%s", want, out.String())
		}
	}
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case map[string]int:
		return maps.Equal(a, b.(map[string]int))
	case []string:
		return slices.Equal(a, b.([]string))
	case []int:
		return slices.Equal(a, b.([]int))
	}
	return a == b
}
