package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// summaryRow returns the fields of the table row named name ("flipped 1 email_…").
func summaryRow(out, name string) []string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && strings.HasPrefix(rest, "  ") {
			return strings.Fields(rest)
		}
	}
	return nil
}

func wantSummary(t *testing.T, out, name, value string) {
	t.Helper()
	if got := summaryRow(out, name); len(got) == 0 || got[0] != value {
		t.Errorf("summary row %q: %v, want %s first, in:\n%s", name, got, value, out)
	}
}

func TestReconcileFlipsALoginWhoseWebhookWasLost(t *testing.T) {
	r, tenant, env := provisionEnv(t, auth0test.Config{})
	lost := provisionedUser(t, r, tenant, "lost@example.com")
	lostLogin(t, tenant, lost.ID)
	waiting := provisionedUser(t, r, tenant, "waiting@example.com")

	out, errOut, err := runStoreCommand(t, reconcileCmd, env, "--wait", "30s")
	if err != nil {
		t.Fatalf("reconcile: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	wantSummary(t, out, "path", "search:")
	wantSummary(t, out, "found", "2")
	wantSummary(t, out, "checked", "2")
	wantSummary(t, out, "queued", "1")
	wantSummary(t, out, "flipped", "1")
	wantSummary(t, out, "still waiting", "1")
	wantSummary(t, out, "  no_password_reset", "1")
	wantSummary(t, out, "errors", "0")
	if got := summaryRow(out, "calls used"); len(got) == 0 || got[0] == "0" {
		t.Errorf("calls used %v, want the search and the job's read and PATCH counted", got)
	}
	if u, _ := tenant.User(lost.ID); !u.EmailVerified {
		t.Errorf("Auth0 still has email_verified false for %s", lost.ID)
	}
	if u, _ := tenant.User(waiting.ID); u.EmailVerified {
		t.Errorf("the user who never logged in was verified")
	}
	rec, err := r.Get(t.Context(), lost.ID)
	if err != nil || rec.Status != store.StatusVerified {
		t.Errorf("record %+v, %v; want verified", rec, err)
	}
	if strings.Contains(out+errOut, "lost@example.com") {
		t.Errorf("reconcile printed a full address:\n%s\n%s", out, errOut)
	}
	entries, _ := r.Audit(t.Context(), lost.ID, 1)
	if len(entries) != 1 || entries[0].Source() != store.SourceSweep {
		t.Errorf("last audit entry %+v, want one from the sweep", entries)
	}

	// The next run covers the end of this one again (the overlap): the flipped user is
	// no longer pending, nothing is queued twice, and the user who has not changed
	// since it was provisioned (an hour ago, before the overlap) is not even looked at.
	out, errOut, err = runStoreCommand(t, reconcileCmd, env, "--json")
	if err != nil {
		t.Fatalf("second reconcile: %v\n%s", err, errOut)
	}
	var sum reconcileSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("--json: %v in %q", err, out)
	}
	if sum.Found != 1 || sum.NotPending != 1 || sum.Queued != 0 || sum.Flipped != 0 || len(sum.Waiting) != 0 || !sum.Complete || sum.DryRun {
		t.Errorf("second run %+v; want only the flipped user found, not pending, nothing queued", sum)
	}
}

func TestReconcileDryRunChangesNothing(t *testing.T) {
	r, tenant, env := provisionEnv(t, auth0test.Config{})
	raw := rawRedis(t, env["MAILPROOF_REDIS_URL"])
	// A sweep that completed before, so the cursor has something to keep.
	if _, _, err := runStoreCommand(t, reconcileCmd, env); err != nil {
		t.Fatalf("first reconcile: %v", err)
	}
	other := provisionedUser(t, r, tenant, "other@example.com")
	lostLogin(t, tenant, other.ID)
	before, err := raw.HGetAll(t.Context(), "mp:{mp}:reconcile").Result()
	if err != nil || before["last_run"] == "" {
		t.Fatalf("cursor after a first run: %v, %v", before, err)
	}
	jobsBefore := raw.XLen(t.Context(), "mp:{mp}:jobs").Val()
	tenant.ResetCalls()

	out, errOut, err := runStoreCommand(t, reconcileCmd, env, "--dry-run")
	if err != nil {
		t.Fatalf("reconcile --dry-run: %v\n%s", err, errOut)
	}
	wantSummary(t, out, "would check", "1")
	if !strings.Contains(out, "dry run: nothing was changed") {
		t.Errorf("dry run output does not say nothing was changed:\n%s", out)
	}
	after, _ := raw.HGetAll(t.Context(), "mp:{mp}:reconcile").Result()
	if !maps.Equal(before, after) {
		t.Errorf("the dry run moved the cursor: %v, then %v", before, after)
	}
	if n := raw.Exists(t.Context(), "mp:{mp}:reconcile-lock").Val(); n != 0 {
		t.Errorf("the dry run left the sweep lock behind")
	}
	if n := raw.XLen(t.Context(), "mp:{mp}:jobs").Val(); n != jobsBefore {
		t.Errorf("jobs %d after the dry run, want %d", n, jobsBefore)
	}
	for _, c := range tenant.Calls() {
		if c.Method != "GET" && c.Path != "/oauth/token" {
			t.Errorf("the dry run called %s %s", c.Method, c.Path)
		}
	}
	if u, _ := tenant.User(other.ID); u.EmailVerified {
		t.Errorf("the dry run verified %s in Auth0", other.ID)
	}
	if rec, err := r.Get(t.Context(), other.ID); err != nil || rec.Status != store.StatusPending {
		t.Errorf("record %+v, %v after the dry run; want pending", rec, err)
	}
}

func TestReconcileWithoutWaitingLeavesTheJobsToServe(t *testing.T) {
	r, tenant, env := provisionEnv(t, auth0test.Config{})
	lost := provisionedUser(t, r, tenant, "lost@example.com")
	lostLogin(t, tenant, lost.ID)
	out, errOut, err := runStoreCommand(t, reconcileCmd, env, "--wait", "0")
	if err != nil {
		t.Fatalf("reconcile --wait 0: %v\n%s", err, errOut)
	}
	wantSummary(t, out, "queued", "1")
	wantSummary(t, out, "flipped", "0")
	wantSummary(t, out, "errors", "1")
	if got := strings.Join(summaryRow(out, "  still queued"), " "); !strings.Contains(got, "serve workers will finish them") || !strings.Contains(got, "mailproof audit --user "+lost.ID) {
		t.Errorf("still queued row %q, want the user and where to look", got)
	}
	if u, _ := tenant.User(lost.ID); u.EmailVerified {
		t.Errorf("verified without a worker")
	}
}

// TestReconcileLimitThenResume: --limit stops the run with its cursor kept; the next run
// resumes it and queues the rest once.
func TestReconcileLimitThenResume(t *testing.T) {
	r, tenant, env := provisionEnv(t, auth0test.Config{})
	for _, email := range []string{"first@example.com", "second@example.com"} {
		lostLogin(t, tenant, provisionedUser(t, r, tenant, email).ID)
	}
	out, errOut, err := runStoreCommand(t, reconcileCmd, env, "--limit", "1", "--wait", "0", "--json")
	if err != nil {
		t.Fatalf("reconcile --limit 1: %v\n%s", err, errOut)
	}
	var first reconcileSummary
	if err := json.Unmarshal([]byte(out), &first); err != nil || first.Queued != 1 || first.Complete {
		t.Fatalf("first run %s (%v); want one job queued and the run left open", out, err)
	}
	out, errOut, err = runStoreCommand(t, reconcileCmd, env, "--wait", "30s", "--json")
	if err != nil {
		t.Fatalf("second reconcile: %v\n%s", err, errOut)
	}
	var second reconcileSummary
	if err := json.Unmarshal([]byte(out), &second); err != nil {
		t.Fatalf("second run: %v in %q", err, out)
	}
	if second.Run != first.Run || !second.Resumed || !second.Complete || second.Queued != 1 || second.AlreadyQueued != 1 {
		t.Errorf("second run %+v; want run %s resumed and completed, the other user queued, the first already queued", second, first.Run)
	}
	// This command's worker takes any queued job, the first run's too; only this run's
	// own job counts in its summary.
	if second.Flipped != 1 || len(second.StillQueued) != 0 {
		t.Errorf("second run flipped %d, still queued %v; want 1 and none", second.Flipped, second.StillQueued)
	}
}

func TestReconcileWhileAnotherReplicaSweeps(t *testing.T) {
	r, _, env := provisionEnv(t, auth0test.Config{})
	if ok, err := r.AcquireSweep(t.Context(), "another-replica", time.Minute); !ok || err != nil {
		t.Fatalf("take the lock: %v, %v", ok, err)
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"reconcile"}, func(k string) string { return env[k] }, &stdout, &stderr)
	if !errors.Is(err, errSweepBusy) || !strings.Contains(err.Error(), "another replica is sweeping right now; try again later") {
		t.Errorf("reconcile beside a sweeping replica: %v, want %q", err, errSweepBusy)
	}
}

func TestReconcileUsage(t *testing.T) {
	env := map[string]string{} // none needed: nothing may be read before the flags pass
	tests := []struct {
		name    string
		args    []string
		wantErr error
	}{
		{"help", []string{"--help"}, nil},
		{"unknown flag", []string{"--frobnicate"}, errUsage},
		{"an argument", []string{"now"}, errUsage},
		{"negative limit", []string{"--limit", "-1"}, errUsage},
		{"negative wait", []string{"--wait", "-1s"}, errUsage},
		{"wait not a duration", []string{"--wait", "ten"}, errUsage},
	}
	for _, tc := range tests {
		out, errOut, err := runStoreCommand(t, reconcileCmd, env, tc.args...)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.wantErr)
		}
		usage := errOut // a mistake's usage goes to stderr, asked-for help to stdout
		if tc.wantErr == nil {
			usage = out
		}
		if !strings.Contains(usage, "mailproof reconcile [--dry-run]") {
			t.Errorf("%s: stdout %q, stderr %q, want the usage", tc.name, out, errOut)
		}
	}
}

func rawRedis(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
