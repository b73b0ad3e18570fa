package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// storeCommand is the signature of the CLI commands that only need Redis.
type storeCommand func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// cliStore opens a store on an empty database of the shared redis-server and returns it
// with the environment the CLI finds it through.
func cliStore(t *testing.T) (*store.Redis, map[string]string) {
	t.Helper()
	url := redistest.URL(t)
	r, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open redis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, map[string]string{"MAILPROOF_REDIS_URL": url}
}

// runStoreCommand calls cmd with env as the whole environment.
func runStoreCommand(t *testing.T, cmd storeCommand, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = cmd(t.Context(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// deadPayload is a queued event's body: it carries an address no listing may print.
const deadPayload = `{"data":{"user":{"email":"ada.lovelace@example.com"}}}`

// seedDead dead-letters one job per user, in order, and returns the dead-letter IDs,
// oldest first.
func seedDead(t *testing.T, r *store.Redis, users ...string) []string {
	t.Helper()
	ctx := t.Context()
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	for i, u := range users {
		if err := r.PutPending(ctx, store.Record{UserID: u, Email: "ada.lovelace@example.com"}); err != nil {
			t.Fatal(err)
		}
		res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: fmt.Sprintf("msg_dead_%d", i), UserID: u, ReplayTTL: time.Hour, Payload: []byte(deadPayload)})
		if err != nil || res.Status != store.IngestQueued {
			t.Fatalf("ingest %s: %+v, %v", u, res, err)
		}
		jobs, err := r.Read(ctx, "seed", 1, 0)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("read %s: %d jobs, %v", u, len(jobs), err)
		}
		if err := r.DeadLetter(ctx, jobs[0], fmt.Sprintf("gave up on %s", u)); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := r.ListDLQ(ctx, store.MaxListLimit)
	if err != nil || len(dead) != len(users) {
		t.Fatalf("list: %d dead letters, %v; want %d", len(dead), err, len(users))
	}
	var ids []string
	for _, d := range dead {
		ids = append(ids, d.ID)
	}
	slices.Reverse(ids)
	return ids
}

func TestDLQList(t *testing.T) {
	users := []string{"auth0|one", "auth0|two", "auth0|three"}
	tests := []struct {
		name     string
		seed     bool
		args     []string
		wantOut  []string // in this order
		wantNot  []string
		wantJSON []string // user ids of the JSON lines, in order; nil: not JSON
	}{
		{name: "table, newest first", seed: true, args: []string{"list"},
			wantOut: []string{"ID", "ERROR", "auth0|three", "gave up on auth0|three", "auth0|two", "auth0|one"}},
		{name: "limit keeps the newest", seed: true, args: []string{"list", "--limit", "2"},
			wantOut: []string{"auth0|three", "auth0|two", "showing the newest 2"}, wantNot: []string{"auth0|one"}},
		{name: "json lines", seed: true, args: []string{"list", "--json"},
			wantJSON: []string{"auth0|three", "auth0|two", "auth0|one"}},
		{name: "flags after the subcommand's name in any order", seed: true, args: []string{"list", "--json", "--limit", "1"},
			wantJSON: []string{"auth0|three"}},
		{name: "empty", args: []string{"list"}, wantOut: []string{"no dead letters"}},
		{name: "empty json", args: []string{"list", "--json"}, wantJSON: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, env := cliStore(t)
			var ids []string
			if tc.seed {
				ids = seedDead(t, r, users...)
			}
			stdout, stderr, err := runStoreCommand(t, dlqGroup().dispatch, env, tc.args...)
			if err != nil {
				t.Fatalf("dlq %v: %v\nstderr: %s", tc.args, err, stderr)
			}
			if strings.Contains(stdout, "ada.lovelace") {
				t.Errorf("output contains the payload's email address:\n%s", stdout)
			}
			if tc.wantJSON != nil {
				checkDeadJSON(t, stdout, tc.wantJSON, ids)
				return
			}
			at := 0
			for _, want := range tc.wantOut {
				i := strings.Index(stdout[at:], want)
				if i < 0 {
					t.Fatalf("stdout lacks %q after offset %d:\n%s", want, at, stdout)
				}
				at += i + len(want)
			}
			for _, not := range tc.wantNot {
				if strings.Contains(stdout, not) {
					t.Errorf("stdout contains %q:\n%s", not, stdout)
				}
			}
			if tc.seed && !strings.Contains(stdout, ids[len(ids)-1]) {
				t.Errorf("stdout lacks the newest dead-letter ID %s:\n%s", ids[len(ids)-1], stdout)
			}
		})
	}
}

// checkDeadJSON decodes dlq list --json output and compares its users with wantUsers.
func checkDeadJSON(t *testing.T, stdout string, wantUsers, ids []string) {
	t.Helper()
	var users []string
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var d deadLetterJSON
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("decode %q: %v", stdout, err)
		}
		users = append(users, d.UserID)
		if !slices.Contains(ids, d.ID) || d.Attempt != 1 || d.PayloadBytes != len(deadPayload) || d.Error != "gave up on "+d.UserID || d.DiedAt.IsZero() {
			t.Errorf("entry %+v: want a seeded ID, attempt 1, %d payload bytes, its error and a death time", d, len(deadPayload))
		}
	}
	if !slices.Equal(users, wantUsers) && (len(users) != 0 || len(wantUsers) != 0) {
		t.Errorf("users %v, want %v", users, wantUsers)
	}
}

func TestDLQReplay(t *testing.T) {
	users := []string{"auth0|one", "auth0|two", "auth0|three"}
	tests := []struct {
		name string
		// args builds the arguments from the seeded IDs, oldest first.
		args         func(ids []string) []string
		seed         bool
		wantErr      string
		wantUsage    bool
		wantReplayed []string // users whose jobs must be back on the stream
		wantOut      string
	}{
		{name: "one ID", seed: true, args: func(ids []string) []string { return []string{"replay", ids[1]} },
			wantReplayed: []string{"auth0|two"}, wantOut: "as job"},
		{name: "ID after a flag terminator", seed: true, args: func(ids []string) []string { return []string{"replay", "--", ids[0]} },
			wantReplayed: []string{"auth0|one"}},
		{name: "all, oldest first", seed: true, args: func([]string) []string { return []string{"replay", "--all"} },
			wantReplayed: users, wantOut: "replayed 3 dead letters"},
		{name: "all of none", args: func([]string) []string { return []string{"replay", "--all"} },
			wantOut: "replayed 0 dead letters"},
		{name: "unknown ID", seed: true, args: func([]string) []string { return []string{"replay", "1-1"} },
			wantErr: "no dead letter with ID 1-1"},
		{name: "not an ID", seed: true, args: func([]string) []string { return []string{"replay", "auth0|one"} },
			wantErr: "not a dead-letter ID"},
		{name: "ID and --all", seed: true, args: func(ids []string) []string { return []string{"replay", "--all", ids[0]} },
			wantUsage: true},
		{name: "neither", args: func([]string) []string { return []string{"replay"} }, wantUsage: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, env := cliStore(t)
			var ids []string
			if tc.seed {
				ids = seedDead(t, r, users...)
			}
			before, err := r.QueueStats(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err := runStoreCommand(t, dlqGroup().dispatch, env, tc.args(ids)...)
			switch {
			case tc.wantUsage:
				if !errors.Is(err, errUsage) {
					t.Fatalf("error %v, want errUsage; stderr: %s", err, stderr)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("dlq replay: %v\nstderr: %s", err, stderr)
			}
			if !strings.Contains(stdout, tc.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantOut, stdout)
			}

			after, err := r.QueueStats(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			n := int64(len(tc.wantReplayed))
			if after.Dead != before.Dead-n || after.Queued != before.Queued+n {
				t.Errorf("dead %d→%d, queued %d→%d; want %d moved from dead letters to the queue", before.Dead, after.Dead, before.Queued, after.Queued, n)
			}
			jobs, err := r.Read(t.Context(), "check", 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.UserID)
				if j.Attempt != 1 || !strings.HasPrefix(j.WebhookID, "msg_dead_") || string(j.Payload) != deadPayload {
					t.Errorf("replayed job %+v: want attempt 1 with its webhook id and payload", j)
				}
			}
			if !slices.Equal(got, tc.wantReplayed) && (len(got) != 0 || len(tc.wantReplayed) != 0) {
				t.Errorf("jobs back on the stream for %v, want %v", got, tc.wantReplayed)
			}
		})
	}
}

func TestDLQUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantErr    error
		wantStdout string
		wantStderr string
	}{
		{name: "no subcommand", wantErr: errUsage, wantStderr: "mailproof dlq list"},
		{name: "unknown subcommand", args: []string{"purge"}, wantErr: errUsage, wantStderr: `unknown dlq command "purge"`},
		{name: "help", args: []string{"help"}, wantStdout: "mailproof dlq replay ID|--all"},
		{name: "list -h", args: []string{"list", "-h"}, wantStdout: "-limit"},
		{name: "limit zero", args: []string{"list", "--limit", "0"}, wantErr: errUsage, wantStderr: "--limit must be 1 to 1000"},
		{name: "limit too large", args: []string{"list", "--limit", "1001"}, wantErr: errUsage, wantStderr: "--limit must be 1 to 1000"},
		{name: "stray argument", args: []string{"list", "all"}, wantErr: errUsage, wantStderr: `unexpected argument "all"`},
		{name: "two IDs", args: []string{"replay", "1-0", "2-0"}, wantErr: errUsage, wantStderr: "exactly one dead-letter ID"},
	}
	for _, tc := range tests {
		// No MAILPROOF_REDIS_URL: a usage mistake must be reported before any connection.
		stdout, stderr, err := runStoreCommand(t, dlqGroup().dispatch, map[string]string{}, tc.args...)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
		}
		if !strings.Contains(stdout, tc.wantStdout) || !strings.Contains(stderr, tc.wantStderr) {
			t.Errorf("%s: stdout %q, stderr %q; want %q and %q in them", tc.name, stdout, stderr, tc.wantStdout, tc.wantStderr)
		}
	}
}

func TestStreamIDOrder(t *testing.T) {
	tests := []struct {
		name, a, b string
		less       bool
	}{
		{name: "earlier millisecond", a: "999-5", b: "1000-0", less: true},
		{name: "same millisecond", a: "1000-2", b: "1000-10", less: true},
		{name: "equal", a: "1000-0", b: "1000-0"},
		{name: "later", a: "1000-1", b: "1000-0"},
	}
	for _, tc := range tests {
		if got := streamIDLess(tc.a, tc.b); got != tc.less {
			t.Errorf("%s: streamIDLess(%s, %s) = %t, want %t", tc.name, tc.a, tc.b, got, tc.less)
		}
	}
	for _, id := range []string{"", "1000", "-1-0", "+1-0", "1-x", "auth0|x", "1-0-0"} {
		if validStreamID(id) {
			t.Errorf("validStreamID(%q) = true, want false", id)
		}
	}
}
