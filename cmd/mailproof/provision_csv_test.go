package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/proof"
)

func TestRunCSV(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		terminal bool
		defaults proof.ProvisionRequest
		fail     map[string]error
		want     map[int]string // results by line: email user_id status error ticket_url
		wantSum  string         // the summary's status counts
		wantErr  bool           // rowsErr
	}{
		{name: "bad rows skipped, failed rows listed", file: "bad-rows.csv", fail: map[string]error{
			"cy@example.com":  fmt.Errorf("register: %w", &proof.UserExistsError{UserID: "auth0|other"}),
			"fay@example.com": errors.New("create user fay@example.com: 503 Service Unavailable"),
		}, want: map[int]string{
			2:  "ada@example.com auth0|ada@example.com created  ",
			3:  "not-an-address  invalid not an email address (mail: missing '@' or angle-addr) ",
			4:  "Bob <bob@example.com>  invalid not a bare email address: write the address alone, with no display name or comment ",
			5:  "  invalid no email ",
			6:  "ADA@Example.com  duplicate duplicate of an earlier row ",
			7:  `cy@example.com  invalid unknown delivery "fax": want reset-email or ticket `,
			8:  "dee@example.com  invalid 2 fields, want 4 as in the header (record on line 8: wrong number of fields) ",
			9:  `eve@example.com  invalid a " in an unquoted field: quote the field and double the quote ("O""Brien") (parse error on line 9, column 21: bare " in non-quoted-field) `,
			10: "cy@example.com auth0|other user_exists register: a user with this email exists and was not created by mailproof: auth0|other (adopt it to register it) ",
			11: "kate@example.com\u00a0  invalid not an email address: it holds the invisible or space character U+00A0 ",
			12: "fay@example.com  error create user fay@example.com: 503 Service Unavailable ",
		}, wantSum: "created 1, user_exists 1, error 1, invalid 7, duplicate 1", wantErr: true},
		{name: "tickets on a terminal", file: "quoted.csv", terminal: true,
			defaults: proof.ProvisionRequest{Delivery: proof.DeliveryTicket},
			want: map[int]string{
				2: "ada@example.com auth0|ada@example.com created  https://tenant.example/lo/reset?ticket=ada@example.com",
				3: "bob@example.com auth0|bob@example.com created  https://tenant.example/lo/reset?ticket=bob@example.com",
				5: "cy@example.com auth0|cy@example.com created  https://tenant.example/lo/reset?ticket=cy@example.com",
			}, wantSum: "created 3"},
		{name: "BOM and CRLF", file: "crlf.csv", want: map[int]string{
			2: "ada@example.com auth0|ada@example.com created  https://tenant.example/lo/reset?ticket=ada@example.com",
			3: "bob@example.com auth0|bob@example.com created  ",
		}, wantSum: "created 2"},
		{name: "header only", file: "header-only.csv", terminal: true, want: map[int]string{}},
	}
	for _, tc := range tests {
		path := fixture(t, tc.file)
		p := newFakeProvisioner()
		p.fail = tc.fail
		var progress strings.Builder
		opts := csvOptions{Path: path, Concurrency: 3, Defaults: tc.defaults}
		sum, err := runCSV(t.Context(), opts, p, &progress, tc.terminal)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := readResults(t, path+".results.csv")
		for line, want := range tc.want {
			if got[line] != want {
				t.Errorf("%s: line %d: results %q, want %q", tc.name, line, got[line], want)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d results, want %d", tc.name, len(got), len(tc.want))
		}
		if s := sum.statusCounts(); s != tc.wantSum {
			t.Errorf("%s: statuses %q, want %q", tc.name, s, tc.wantSum)
		}
		if err := sum.rowsErr(); (err != nil) != tc.wantErr {
			t.Errorf("%s: rowsErr %v, want an error: %v", tc.name, err, tc.wantErr)
		}
		out := progress.String()
		if !strings.Contains(out, "results in "+path+".results.csv") {
			t.Errorf("%s: progress %q does not name the results file", tc.name, out)
		}
		for _, r := range got {
			if email, _, _ := strings.Cut(r, " "); strings.Contains(email, "@") && strings.Contains(out, email) {
				t.Errorf("%s: progress shows the address %q:\n%s", tc.name, email, out)
			}
		}
		if tc.name == "bad rows skipped, failed rows listed" {
			for _, want := range []string{"line 12, f***@example.com: error: create user f***@example.com: 503", "line 5: invalid: no email"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: progress %q does not list %q", tc.name, out, want)
				}
			}
		}
	}
}

func TestRunCSVDryRunSendsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    provisioner
	}{{name: "no provisioner", p: nil}, {name: "a provisioner", p: newFakeProvisioner()}} {
		path := fixture(t, "bad-rows.csv")
		var progress strings.Builder
		sum, err := runCSV(t.Context(), csvOptions{Path: path, Concurrency: 4, DryRun: true}, tc.p, &progress, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if f, ok := tc.p.(*fakeProvisioner); ok && len(f.calls) != 0 {
			t.Errorf("%s: %d calls, want none", tc.name, len(f.calls))
		}
		got := readResults(t, path+".results.csv")
		for _, line := range []int{2, 10, 12} {
			if !strings.Contains(got[line], "  "+statusWouldProvision+" ") {
				t.Errorf("%s: line %d: results %q, want %s", tc.name, line, got[line], statusWouldProvision)
			}
		}
		if s, want := sum.statusCounts(), "would_provision 3, invalid 7, duplicate 1"; s != want {
			t.Errorf("%s: statuses %q, want %q", tc.name, s, want)
		}
		for _, want := range []string{"provision --dry-run (nothing sent): 11 rows", "would provision by delivery: reset-email 2, ticket 1"} {
			if !strings.Contains(progress.String(), want) {
				t.Errorf("%s: progress %q, want %q", tc.name, progress.String(), want)
			}
		}
	}
}

// TestRunCSVConcurrency: every good row is sent exactly once, by at most N at a time,
// and has exactly one results row.
func TestRunCSVConcurrency(t *testing.T) {
	const rows = 300
	for _, n := range []int{1, 4, maxConcurrency} {
		path := usersFile(t, rows)
		p := newFakeProvisioner()
		sum, err := runCSV(t.Context(), csvOptions{Path: path, Concurrency: n}, p, io.Discard, false)
		if err != nil {
			t.Fatalf("concurrency %d: %v", n, err)
		}
		if len(p.calls) != rows {
			t.Errorf("concurrency %d: %d addresses sent, want %d", n, len(p.calls), rows)
		}
		for email, c := range p.calls {
			if c != 1 {
				t.Errorf("concurrency %d: %s sent %d times, want once", n, email, c)
			}
		}
		if p.maxRunning > n {
			t.Errorf("concurrency %d: %d calls at once", n, p.maxRunning)
		}
		got := readResults(t, path+".results.csv")
		for line := 2; line <= rows+1; line++ {
			if want := fmt.Sprintf("user%07d@example.com auth0|user%07d@example.com created  ", line-2, line-2); got[line] != want {
				t.Errorf("concurrency %d: line %d: results %q, want %q", n, line, got[line], want)
			}
		}
		if sum.Rows != rows || sum.Statuses[proof.ProvisionCreated] != rows || sum.rowsErr() != nil {
			t.Errorf("concurrency %d: summary %+v", n, sum)
		}
	}
}

// TestRunCSVInterrupted: cancelling stops new rows, the rows in flight finish with a
// live context and are in the results, and the same command run again finishes the
// rest without sending anything twice.
func TestRunCSVInterrupted(t *testing.T) {
	const rows, n = 50, 3
	path := usersFile(t, rows)
	p := newFakeProvisioner()
	p.started, p.release = make(chan string, rows), make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	type ran struct {
		sum csvSummary
		err error
	}
	done := make(chan ran)
	var progress strings.Builder
	go func() {
		sum, err := runCSV(ctx, csvOptions{Path: path, Concurrency: n}, p, &progress, false)
		done <- ran{sum, err}
	}()
	first := map[string]bool{}
	for range n {
		first[<-p.started] = true
	}
	cancel()
	close(p.release)
	r := <-done

	if r.err == nil || !strings.Contains(r.err.Error(), "provision interrupted: 3 rows have results in") ||
		!strings.Contains(r.err.Error(), "re-running the same command finishes the rest") {
		t.Errorf("error %v, want it to say the run was interrupted", r.err)
	}
	if !r.sum.Interrupted || r.sum.Rows != n || r.sum.Statuses[proof.ProvisionCreated] != n {
		t.Errorf("summary %+v, want %d rows created and interrupted", r.sum, n)
	}
	if len(p.calls) != n || len(p.ctxErrs) != 0 {
		t.Errorf("%d addresses sent, want %d; contexts: %v", len(p.calls), n, p.ctxErrs)
	}
	got := readResults(t, path+".results.csv")
	if len(got) != n {
		t.Errorf("%d results, want %d: %v", len(got), n, got)
	}
	for line, r := range got {
		if !strings.Contains(r, " created ") {
			t.Errorf("line %d: results %q, want created", line, r)
		}
	}
	if !strings.Contains(progress.String(), "interrupted: taking no more rows; finishing the") {
		t.Errorf("progress %q does not say it was interrupted", progress.String())
	}

	p.started, p.release = nil, nil
	progress.Reset()
	sum, err := runCSV(t.Context(), csvOptions{Path: path, Concurrency: n}, p, &progress, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("created %d, unchanged %d (done by an earlier run)", rows-n, n); sum.statusCounts() != want {
		t.Errorf("re-run: statuses %q, want %q", sum.statusCounts(), want)
	}
	for email, c := range p.calls {
		if want := map[bool]int{true: 2, false: 1}[first[email]]; c != want {
			t.Errorf("%s sent %d times, want %d (the fake answers unchanged the second time)", email, c, want)
		}
	}
	if len(readResults(t, path+".results.csv")) != rows {
		t.Errorf("re-run: want a result for every row")
	}
	if kept := readResults(t, sum.KeptResults); len(kept) != n {
		t.Errorf("the interrupted run's results file was not kept as %q: %v", sum.KeptResults, kept)
	}
}
