package main

import (
	"bufio"
	"context"
	"encoding/csv"
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
