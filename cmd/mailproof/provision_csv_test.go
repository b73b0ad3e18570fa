package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// fakeProvisioner stands in for proof.Provisioner: like it, it does nothing twice for
// an address, answering unchanged.
type fakeProvisioner struct {
	fail    map[string]error // by normalized address
	started chan string      // if set, gets each address as its call starts
	release chan struct{}    // if set, each call waits for it to close

	mu         sync.Mutex
	calls      map[string]int
	done       map[string]bool
	running    int
	maxRunning int
	ctxErrs    []string // what was wrong with the context of a released call
}

func newFakeProvisioner() *fakeProvisioner {
	return &fakeProvisioner{calls: map[string]int{}, done: map[string]bool{}}
}

func (f *fakeProvisioner) Provision(ctx context.Context, req proof.ProvisionRequest) (proof.ProvisionResult, error) {
	key := event.NormalizeEmail(req.Email)
	f.mu.Lock()
	f.calls[key]++
	f.running++
	f.maxRunning = max(f.maxRunning, f.running)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if f.started != nil {
		f.started <- key
	}
	if f.release != nil {
		<-f.release
		_, hasDeadline := ctx.Deadline()
		if ctx.Err() != nil || !hasDeadline {
			f.mu.Lock()
			f.ctxErrs = append(f.ctxErrs, fmt.Sprintf("%s: err %v, deadline %v", key, ctx.Err(), hasDeadline))
			f.mu.Unlock()
		}
	}
	if err := f.fail[key]; err != nil {
		return proof.ProvisionResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	res := proof.ProvisionResult{Status: proof.ProvisionCreated, Record: store.Record{UserID: "auth0|" + key}}
	if f.done[key] {
		res.Status = proof.ProvisionDone
	} else if req.Delivery == proof.DeliveryTicket {
		res.TicketURL = "https://tenant.example/lo/reset?ticket=" + key
	}
	f.done[key] = true
	return res, nil
}

// fixture copies testdata/provision/name into a fresh directory, where the results
// file will go too.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "provision", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeUsers writes a file of n distinct good rows (lines 2 to n+1).
func writeUsers(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("email,name,connection,delivery\n")
	for i := range n {
		fmt.Fprintf(bw, "user%07d@example.com,User %d,,\n", i, i)
	}
	return bw.Flush()
}

func usersFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := writeUsers(f, n); err != nil {
		t.Fatal(err)
	}
	return path
}

// readResults reads a results file into "status user_id error ticket_url" by line.
func readResults(t *testing.T, path string) map[int]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != resultsColumns {
		t.Fatalf("results header %v, want %s", recs, resultsColumns)
	}
	got := map[int]string{}
	for _, r := range recs[1:] {
		line, _ := strconv.Atoi(r[0])
		if _, dup := got[line]; dup {
			t.Errorf("line %d twice in the results", line)
		}
		got[line] = strings.Join(r[1:], " ")
	}
	return got
}

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

// TestRunCSVRefuses: a mistake found before the first row sends nothing and writes no
// results file.
func TestRunCSVRefuses(t *testing.T) {
	tests := []struct {
		name    string
		file    string // a fixture; "" for none
		opts    csvOptions
		wantErr string
	}{
		{name: "concurrency 0", file: "crlf.csv", opts: csvOptions{Concurrency: 0}, wantErr: "--concurrency 0: want 1 to 64"},
		{name: "concurrency 65", file: "crlf.csv", opts: csvOptions{Concurrency: 65}, wantErr: "--concurrency 65: want 1 to 64"},
		{name: "no file", opts: csvOptions{Concurrency: 1}, wantErr: "--csv: no file given"},
		{name: "missing file", opts: csvOptions{Path: filepath.Join(t.TempDir(), "nope.csv"), Concurrency: 1}, wantErr: "no such file"},
		{name: "unknown column", file: "unknown-column.csv", opts: csvOptions{Concurrency: 1},
			wantErr: `unknown-column.csv: line 1: unknown column "nmae": the columns are email, name, connection, delivery; nothing was provisioned`},
		{name: "no header", file: "no-header.csv", opts: csvOptions{Concurrency: 1}, wantErr: "line 1 holds an address, not a header"},
		{name: "results over the input", file: "crlf.csv", opts: csvOptions{Concurrency: 1, Results: "input"},
			wantErr: "is the input file: name another with --results"},
	}
	for _, tc := range tests {
		opts := tc.opts
		if tc.file != "" {
			opts.Path = fixture(t, tc.file)
		}
		if opts.Results == "input" {
			opts.Results = opts.Path
		}
		p := newFakeProvisioner()
		_, err := runCSV(t.Context(), opts, p, io.Discard, false)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		}
		if len(p.calls) != 0 {
			t.Errorf("%s: %d addresses sent, want none", tc.name, len(p.calls))
		}
		if opts.Path != "" && opts.Results == "" {
			if _, err := os.Stat(opts.Path + ".results.csv"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: a results file was written", tc.name)
			}
		}
	}
}

// TestRunCSVRowTooLong: a quote left open stops the run with the rows before it done.
func TestRunCSVRowTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open-quote.csv")
	body := "email,name\nada@example.com,Ada\nbob@example.com,\"Bob\n" + strings.Repeat("cy@example.com,Cy\n", 2*maxRowBytes/18)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newFakeProvisioner()
	_, err := runCSV(t.Context(), csvOptions{Path: path, Concurrency: 2}, p, io.Discard, false)
	if !errors.Is(err, errRowTooLong) || !strings.Contains(err.Error(), "the rows before it have results in") {
		t.Errorf("error %v, want %v", err, errRowTooLong)
	}
	if got := readResults(t, path+".results.csv"); len(got) != 1 || !strings.Contains(got[2], " created ") {
		t.Errorf("results %v, want line 2 created", got)
	}
}

func TestEstimateRows(t *testing.T) {
	tests := []struct {
		name, body string
		want       int64
	}{
		{"empty", "", 0},
		{"header only", "email\n", 0},
		{"no final newline", "email\na@example.com\nb@example.com", 2},
		{"final newline", "email\na@example.com\nb@example.com\n", 2},
		{"a quoted newline counts high", "email,name\na@example.com,\"A\nB\"\n", 2},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := estimateRows(f)
		rest, _ := io.ReadAll(f)
		f.Close()
		if err != nil || got != tc.want || string(rest) != tc.body {
			t.Errorf("%s: %d, %v, then read %q; want %d, rewound", tc.name, got, err, rest, tc.want)
		}
	}
}

func TestCSVProgressLine(t *testing.T) {
	var out strings.Builder
	p := newCSVProgress(&out, false, 1000)
	sum := csvSummary{Rows: 100, Statuses: map[string]int{proof.ProvisionCreated: 90, statusInvalid: 4, statusDuplicate: 1, statusError: 5}}
	p.tick(&sum)
	want := "provision: 100/1000 rows, 90 done, 5 bad, 5 failed, "
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), " rows/s, about ") || !strings.HasSuffix(out.String(), " left\n") {
		t.Errorf("progress line %q, want %q... rows/s, about ... left", out.String(), want)
	}
}

// TestRunCSVKeepsEarlierResults: a run never overwrites the results of an earlier one,
// which may hold the only copy of its ticket links, however quickly they follow.
func TestRunCSVKeepsEarlierResults(t *testing.T) {
	path := fixture(t, "crlf.csv")
	kept := map[string]bool{}
	for i := range 3 {
		sum, err := runCSV(t.Context(), csvOptions{Path: path, Concurrency: 1, DryRun: true}, nil, io.Discard, false)
		if err != nil {
			t.Fatal(err)
		}
		if (sum.KeptResults == "") != (i == 0) || kept[sum.KeptResults] {
			t.Errorf("run %d kept the earlier results as %q; kept before: %v", i, sum.KeptResults, kept)
		}
		kept[sum.KeptResults] = true
	}
	for k := range kept {
		if k == "" {
			continue
		}
		if got := readResults(t, k); len(got) != 2 {
			t.Errorf("%s: %d results, want 2", k, len(got))
		}
	}
	st, err := os.Stat(path + ".results.csv")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("results file mode %v, want 0600: it holds addresses and ticket links", st.Mode())
	}
}
