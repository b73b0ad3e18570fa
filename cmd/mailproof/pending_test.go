package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/store"
)

// pendingUsers are provisioned an hour apart, oldest first; the last id would break a
// table line if printed raw.
var pendingUsers = []struct{ id, email string }{
	{"auth0|ada", "ada.lovelace@example.com"},
	{"auth0|bob", "bob.babbage@example.com"},
	{"auth0|cy\n\x1b[31mred", "cy.crafted@example.com"},
}

// seedPending writes pendingUsers.
func seedPending(t *testing.T, r *store.Redis) {
	t.Helper()
	base := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	for i, u := range pendingUsers {
		err := r.PutPending(t.Context(), store.Record{UserID: u.id, Email: u.email, Connection: "Username-Password-Authentication",
			ProvisionedAt: base.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestPendingList(t *testing.T) {
	tests := []struct {
		name    string
		seed    bool
		args    []string
		wantOut []string // in this order
		wantNot []string
		// wantJSON lists the user ids of a --json page in order; wantMore whether it
		// has a next cursor.
		wantJSON []string
		wantMore bool
	}{
		{name: "table, newest first, emails masked", seed: true, args: []string{"list"},
			wantOut: []string{"USER", "EMAIL", `"auth0|cy\n\x1b[31mred"`, event.MaskEmail("cy.crafted@example.com"), "auth0|bob", "auth0|ada", "2026-11-24T08:00:00Z"},
			wantNot: []string{"ada.lovelace@", "\x1b", "more:"}},
		{name: "a page points at the next", seed: true, args: []string{"list", "--limit", "2"},
			wantOut: []string{"auth0|bob", "more: mailproof pending list --limit 2 --cursor "}, wantNot: []string{"auth0|ada"}},
		{name: "json page", seed: true, args: []string{"list", "--json", "--limit", "2"},
			wantJSON: []string{pendingUsers[2].id, "auth0|bob"}, wantMore: true},
		{name: "json of everything", seed: true, args: []string{"list", "--json"},
			wantJSON: []string{pendingUsers[2].id, "auth0|bob", "auth0|ada"}},
		{name: "empty", args: []string{"list"}, wantOut: []string{"no pending records"}},
		{name: "empty json", args: []string{"list", "--json"}, wantJSON: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, env := cliStore(t)
			if tc.seed {
				seedPending(t, r)
			}
			stdout, stderr, err := runStoreCommand(t, pendingGroup().dispatch, env, tc.args...)
			if err != nil {
				t.Fatalf("pending %v: %v\nstderr: %s", tc.args, err, stderr)
			}
			if tc.wantJSON != nil {
				var page handlers.PendingPage
				if err := json.Unmarshal([]byte(stdout), &page); err != nil {
					t.Fatalf("decode %q: %v", stdout, err)
				}
				if page.Records == nil || len(page.Records) != len(tc.wantJSON) {
					t.Fatalf("%d records (nil: %t), want %d", len(page.Records), page.Records == nil, len(tc.wantJSON))
				}
				for i, rec := range page.Records {
					if rec.UserID != tc.wantJSON[i] || rec.Status != store.StatusPending || !strings.HasSuffix(rec.Email, "@example.com") {
						t.Errorf("record %d: %+v, want %q pending with its email", i, rec, tc.wantJSON[i])
					}
				}
				if (page.NextCursor != "") != tc.wantMore {
					t.Errorf("next cursor %q, want one: %t", page.NextCursor, tc.wantMore)
				}
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
		})
	}
}

func TestPendingListFollowsTheCursor(t *testing.T) {
	r, env := cliStore(t)
	seedPending(t, r)
	var seen []string
	args := []string{"list", "--json", "--limit", "2"}
	for range len(pendingUsers) + 1 {
		stdout, stderr, err := runStoreCommand(t, pendingGroup().dispatch, env, args...)
		if err != nil {
			t.Fatalf("pending %v: %v\n%s", args, err, stderr)
		}
		var page handlers.PendingPage
		if err := json.Unmarshal([]byte(stdout), &page); err != nil {
			t.Fatal(err)
		}
		for _, rec := range page.Records {
			seen = append(seen, rec.UserID)
		}
		if page.NextCursor == "" {
			break
		}
		args = []string{"list", "--json", "--limit", "2", "--cursor", page.NextCursor}
	}
	want := []string{pendingUsers[2].id, "auth0|bob", "auth0|ada"}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("pages held %q, want %q", seen, want)
	}

	_, _, err := runStoreCommand(t, pendingGroup().dispatch, env, "list", "--cursor", "not-a-cursor")
	if err == nil || !strings.Contains(err.Error(), "--cursor is not one this command printed") {
		t.Errorf("bad cursor: error %v, want one about --cursor", err)
	}
}

func TestPendingShow(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut []string
		wantErr string
		json    bool
	}{
		{name: "table", args: []string{"show", "auth0|bob"},
			wantOut: []string{"user", "auth0|bob", "status", "pending", "bob.babbage@example.com", "provisioned", "2026-11-24T09:00:00Z", "outcome", "-"}},
		{name: "json, flag after the id", args: []string{"show", "auth0|bob", "--json"}, json: true},
		{name: "crafted id quoted", args: []string{"show", pendingUsers[2].id}, wantOut: []string{`"auth0|cy\n\x1b[31mred"`}},
		{name: "unknown user", args: []string{"show", "auth0|nobody"}, wantErr: "no record for user auth0|nobody"},
	}
	r, env := cliStore(t)
	seedPending(t, r)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runStoreCommand(t, pendingGroup().dispatch, env, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("pending %v: %v\nstderr: %s", tc.args, err, stderr)
			}
			if strings.Contains(stdout, "\x1b") {
				t.Error("stdout carries a raw escape sequence")
			}
			if tc.json {
				var rec store.Record
				if err := json.Unmarshal([]byte(stdout), &rec); err != nil || rec.UserID != "auth0|bob" || rec.Email != "bob.babbage@example.com" {
					t.Errorf("decoded %+v, %v; want bob's record", rec, err)
				}
				return
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

func TestPendingRm(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantErr string
	}{
		{name: "removes the record", id: "auth0|bob"},
		{name: "crafted id", id: pendingUsers[2].id},
		{name: "unknown user", id: "auth0|nobody", wantErr: "no record for user auth0|nobody; nothing removed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, env := cliStore(t)
			seedPending(t, r)
			stdout, _, err := runStoreCommand(t, pendingGroup().dispatch, env, "rm", tc.id)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
			} else if err != nil || !strings.Contains(stdout, "removed the record") {
				t.Fatalf("rm: %v, stdout %q; want it removed", err, stdout)
			}
			if _, err := r.Get(t.Context(), tc.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("record after rm: %v, want ErrNotFound", err)
			}
			recs, _, err := r.ListPending(t.Context(), "", 0)
			want := len(pendingUsers)
			if tc.wantErr == "" {
				want--
			}
			if err != nil || len(recs) != want {
				t.Errorf("%d records left, %v; want %d", len(recs), err, want)
			}
		})
	}
}

// TestPendingAddMarksTheUser: pending add gives an unmarked user mailproof's
// app_metadata marker before its record, so the reconcile sweep can find it; a marked
// user costs no call, and a failed marker leaves no record.
func TestPendingAddMarksTheUser(t *testing.T) {
	r, tenant, env := provisionEnv(t, auth0test.Config{})
	unmarked := tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	provisioned := map[string]any{"provisioned_at": "2026-11-20T08:00:00Z"}
	marked := tenant.AddUser(auth0test.UserSeed{Email: "grace@example.com", AppMetadata: map[string]any{auth0client.ProvisionMarker: provisioned}})
	markerOf := func(id string) any {
		u, _ := tenant.User(id)
		return u.AppMetadata[auth0client.ProvisionMarker]
	}
	patches := func() int { return tenant.CountCalls(http.MethodPatch, "/api/v2/users/") }

	if out, errOut, err := runStoreCommand(t, pendingGroup().dispatch, env, "add", unmarked.ID); err != nil || !strings.HasPrefix(out, "registered\t"+unmarked.ID) {
		t.Fatalf("pending add: %q, %v\n%s", out, err, errOut)
	}
	if markerOf(unmarked.ID) == nil || patches() != 1 {
		t.Errorf("after pending add: marker %v, %d PATCH calls; want the marker from one call", markerOf(unmarked.ID), patches())
	}
	if out, _, err := runStoreCommand(t, pendingGroup().dispatch, env, "add", unmarked.ID, marked.ID); err != nil || !strings.Contains(out, "registered\t"+marked.ID) {
		t.Errorf("pending add of a marked user: %q, %v", out, err)
	}
	if n := patches(); n != 1 || !reflect.DeepEqual(markerOf(marked.ID), provisioned) {
		t.Errorf("after adding users already marked: %d PATCH calls, marker %v; want still 1 and the marker untouched", n, markerOf(marked.ID))
	}

	// Auth0 fails the marker: the user is not registered, and the message says why.
	late := tenant.AddUser(auth0test.UserSeed{Email: "alan@example.com"})
	tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: http.StatusServiceUnavailable, Times: 1})
	_, errOut, err := runStoreCommand(t, pendingGroup().dispatch, env, "add", late.ID)
	if err == nil || !strings.Contains(errOut, "app_metadata.mailproof") || !strings.Contains(errOut, "nothing registered") {
		t.Errorf("pending add while the marker fails: %v, stderr %q; want a failure naming app_metadata.mailproof and saying nothing was registered", err, errOut)
	}
	if _, err := r.Get(t.Context(), late.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record after the failed marker: error %v, want store.ErrNotFound", err)
	}
	if strings.Contains(errOut, "alan@example.com") {
		t.Errorf("the failure printed a full address: %s", errOut)
	}
	// Running it again finishes the job.
	if out, errOut, err := runStoreCommand(t, pendingGroup().dispatch, env, "add", late.ID); err != nil || !strings.HasPrefix(out, "registered\t"+late.ID) || markerOf(late.ID) == nil {
		t.Errorf("pending add again: %q, %v, marker %v\n%s; want registered and marked", out, err, markerOf(late.ID), errOut)
	}
}

func TestPendingUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantErr    error
		wantStdout string
		wantStderr string
	}{
		{name: "no subcommand", wantErr: errUsage, wantStderr: "mailproof pending list"},
		{name: "unknown subcommand", args: []string{"grant"}, wantErr: errUsage, wantStderr: `unknown pending command "grant"`},
		{name: "add without ids", args: []string{"add"}, wantErr: errUsage, wantStderr: "mailproof pending add USER_ID..."},
		{name: "help", args: []string{"help"}, wantStdout: "mailproof pending rm USER_ID"},
		{name: "show without id", args: []string{"show"}, wantErr: errUsage, wantStderr: "exactly one user id"},
		{name: "rm with two ids", args: []string{"rm", "auth0|a", "auth0|b"}, wantErr: errUsage, wantStderr: "exactly one user id"},
		{name: "unknown flag", args: []string{"rm", "--force", "auth0|a"}, wantErr: errUsage, wantStderr: "-force"},
		{name: "limit too large", args: []string{"list", "--limit", "5000"}, wantErr: errUsage, wantStderr: "--limit must be 1 to 1000"},
		{name: "show -h", args: []string{"show", "-h"}, wantStdout: "quote the |"},
	}
	for _, tc := range tests {
		// No MAILPROOF_REDIS_URL: a usage mistake must be reported before any connection.
		stdout, stderr, err := runStoreCommand(t, pendingGroup().dispatch, map[string]string{}, tc.args...)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
		}
		if !strings.Contains(stdout, tc.wantStdout) || !strings.Contains(stderr, tc.wantStderr) {
			t.Errorf("%s: stdout %q, stderr %q; want %q and %q in them", tc.name, stdout, stderr, tc.wantStdout, tc.wantStderr)
		}
	}
}

func TestStoreCommandsNeedRedisURL(t *testing.T) {
	tests := []struct {
		name string
		cmd  storeCommand
		args []string
	}{
		{name: "dlq list", cmd: dlqGroup().dispatch, args: []string{"list"}},
		{name: "dlq replay", cmd: dlqGroup().dispatch, args: []string{"replay", "1-0"}},
		{name: "dlq replay --all", cmd: dlqGroup().dispatch, args: []string{"replay", "--all"}},
		{name: "pending list", cmd: pendingGroup().dispatch, args: []string{"list"}},
		{name: "pending show", cmd: pendingGroup().dispatch, args: []string{"show", "auth0|a"}},
		{name: "pending rm", cmd: pendingGroup().dispatch, args: []string{"rm", "auth0|a"}},
	}
	for _, tc := range tests {
		_, _, err := runStoreCommand(t, tc.cmd, map[string]string{}, tc.args...)
		if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "MAILPROOF_REDIS_URL is not set") {
			t.Errorf("%s: error %v, want one saying MAILPROOF_REDIS_URL is not set", tc.name, err)
		}
	}
	// And through run, the way the binary is called.
	err := run(t.Context(), []string{"pending", "list"}, func(string) string { return "" }, new(strings.Builder), new(strings.Builder))
	if err == nil || !strings.Contains(err.Error(), "MAILPROOF_REDIS_URL") {
		t.Errorf("run pending list: %v, want the missing MAILPROOF_REDIS_URL named", err)
	}
}
