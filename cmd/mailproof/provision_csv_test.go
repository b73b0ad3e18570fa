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
