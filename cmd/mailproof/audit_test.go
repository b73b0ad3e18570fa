package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// TestAuditShowsDeferralEpisodes: a job deferred three times shows as one deferred entry
// with its reason and, on the entry that ended the wait, how many times and why.
func TestAuditShowsDeferralEpisodes(t *testing.T) {
	r, env := cliStore(t)
	ctx := t.Context()
	const user = "auth0|ada"
	if err := r.PutPending(ctx, store.Record{UserID: user, Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "msg_1", UserID: user, ReplayTTL: time.Hour, Payload: []byte("{}")}); err != nil || res.Status != store.IngestQueued {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		jobs, err := r.Read(ctx, "c1", 1, 0)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("read: %d jobs, %v", len(jobs), err)
		}
		now := time.Now()
		if err := r.Defer(ctx, jobs[0], now, "user_busy", "another event holds the lock"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.MoveDue(ctx, now, 10); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := r.Read(ctx, "c1", 1, 0)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("read: %d jobs, %v", len(jobs), err)
	}
	if err := r.Retry(ctx, jobs[0], time.Now().Add(time.Hour), "auth0: 500"); err != nil {
		t.Fatal(err)
	}

	out, _, err := runStoreCommand(t, audit, env, "--user", user)
	if err != nil {
		t.Fatalf("table: %v", err)
	}
	// Newest first; fields compared with their padding squeezed.
	want := []string{"retry webhook 1 deferred ×3 (user_busy) msg_1", "deferred webhook 1 user_busy msg_1"}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+len(want) {
		t.Fatalf("table: printed\n%s\nwant a header and %d entries", out, len(want))
	}
	for i, w := range want {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.Contains(got, w) {
			t.Errorf("table: line %d %q, want it to hold %q", i+1, got, w)
		}
	}

	out, _, err = runStoreCommand(t, audit, env, "--user", user, "--json")
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	var last struct {
		store.AuditEntry
		Source string `json:"source"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &last); err != nil {
		t.Fatalf("json: %v in %q", err, out)
	}
	if last.Outcome != store.AuditRetry || last.Deferrals != 3 || last.DeferReason != "user_busy" || last.Source != store.SourceWebhook {
		t.Errorf("json: newest entry %+v, want retry with deferrals 3, defer_reason user_busy, source webhook", last)
	}
}

// TestAuditShowsWhereADecisionCameFrom: the SOURCE column tells a job the reconcile sweep
// queued from a webhook's, and an operator's change from both.
func TestAuditShowsWhereADecisionCameFrom(t *testing.T) {
	r, env := cliStore(t)
	ctx := t.Context()
	const user = "auth0|grace"
	if err := r.PutPending(ctx, store.Record{UserID: user, Email: "grace@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"msg_1", store.SourceReconcile + user + ":1"} {
		if res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: id, UserID: user, ReplayTTL: time.Hour, Payload: []byte("{}")}); err != nil || res.Status != store.IngestQueued {
			t.Fatalf("ingest %s: %+v, %v", id, res, err)
		}
		jobs, err := r.Read(ctx, "c1", 1, 0)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("read: %d jobs, %v", len(jobs), err)
		}
		if err := r.Retry(ctx, jobs[0], time.Now().Add(time.Hour), "auth0: 500"); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Note(ctx, user, store.AuditDeleted, store.AuditByCLI, ""); err != nil {
		t.Fatal(err)
	}
	out, _, err := runStoreCommand(t, audit, env, "--user", user)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.Contains(lines[0], "SOURCE") {
		t.Fatalf("audit printed\n%s\nwant a header with SOURCE and three entries", out)
	}
	// Newest first: the operator's removal, the sweep's job, the webhook's.
	for i, want := range []string{"operator", store.SourceSweep, store.SourceWebhook} {
		if f := strings.Fields(lines[i+1]); len(f) < 4 || f[3] != want {
			t.Errorf("entry %d: %q, want source %s", i+1, lines[i+1], want)
		}
	}
}

// TestOpenStoreReadsTheURLLikeServe: the CLI reads MAILPROOF_REDIS_URL through the same
// lookup as serve, so both it and its _FILE set at once is refused, not silently resolved.
func TestOpenStoreReadsTheURLLikeServe(t *testing.T) {
	file := filepath.Join(t.TempDir(), "redis-url")
	if err := os.WriteFile(file, []byte("redis://127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MAILPROOF_REDIS_URL": "redis://127.0.0.1:2", "MAILPROOF_REDIS_URL_FILE": file}
	_, err := openStore(t.Context(), func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("both set: %v, want the ambiguity refused", err)
	}
}
