package store_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
)

func itoa(i int) string { return strconv.Itoa(i) }

func TestAuditNewestFirstPerUserAndAll(t *testing.T) { conform(t, testAuditNewestFirstPerUserAndAll) }

func testAuditNewestFirstPerUserAndAll(t *testing.T, b backend) {
	r := b.open(t)
	for _, u := range []string{"auth0|a", "auth0|b"} {
		putPending(t, r, u, time.Now())
	}
	codes := []struct{ user, code string }{
		{"auth0|a", "wrong_method"}, {"auth0|b", "email_changed"}, {"auth0|a", "no_password_reset"},
	}
	for i, c := range codes {
		enqueue(t, r, c.user, "w"+itoa(i))
		j := readOne(t, r, "c1")
		if err := r.Finish(timeout(t), j, store.Outcome{Code: c.code}); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	tests := []struct {
		name  string
		user  string
		limit int
		want  []string
	}{
		{"everyone", "", 10, []string{"no_password_reset", "email_changed", "wrong_method"}},
		{"everyone, limited", "", 2, []string{"no_password_reset", "email_changed"}},
		{"one user", "auth0|a", 10, []string{"no_password_reset", "wrong_method"}},
		{"other user", "auth0|b", 0, []string{"email_changed"}},
		{"unknown user", "auth0|zzz", 10, nil},
	}
	for _, tc := range tests {
		got, err := r.Audit(timeout(t), tc.user, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var codes []string
		for _, a := range got {
			codes = append(codes, a.Outcome)
		}
		if !slices.Equal(codes, tc.want) {
			t.Errorf("%s: outcomes %v, want %v", tc.name, codes, tc.want)
		}
	}
}

func TestAuditCapped(t *testing.T) { conform(t, testAuditCapped) }

func testAuditCapped(t *testing.T, b backend) {
	r := b.open(t, store.WithAuditMaxLen(10))
	putPending(t, r, "auth0|1", time.Now())
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	const n = 300
	for i := range n {
		enqueue(t, r, "auth0|1", "w"+itoa(i))
	}
	jobs, err := r.Read(timeout(t), "c1", n, 0)
	if err != nil || len(jobs) != n {
		t.Fatalf("read %d, %v", len(jobs), err)
	}
	for _, j := range jobs {
		if err := r.Finish(timeout(t), j, store.Outcome{Code: "wrong_method"}); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	// Approximate trimming keeps at least the cap and at most one more
	// stream node (100 entries by default).
	if got := streamLen(t, r, "mp:{mp}:audit"); got < 10 || got > 110 {
		t.Errorf("audit stream holds %d of %d, want between 10 and 110", got, n)
	}
	// The per-user trail is trimmed exactly, keeps whole entries however
	// short the global stream, and expires with the retention.
	all, err := r.Audit(timeout(t), "auth0|1", 1000)
	if err != nil || len(all) != 100 || all[99].WebhookID != "w"+itoa(n-100) || all[99].JobID != jobs[n-100].ID {
		t.Errorf("user trail holds %d entries (%v), want the last 100, the oldest for w%d", len(all), err, n-100)
	}
	key := store.TrailKey(r, "auth0|1")
	if ttl, _ := r.Client().PTTL(timeout(t), key).Result(); ttl < 30*24*time.Hour || ttl > 31*24*time.Hour {
		t.Errorf("user trail ttl %v, want the retention after the day ends", ttl)
	}
	latest, err := r.Audit(timeout(t), "auth0|1", 1)
	if err != nil || len(latest) != 1 || latest[0].WebhookID != "w"+itoa(n-1) {
		t.Errorf("latest user entry %+v, %v; want webhook w%d", latest, err, n-1)
	}
}

func TestAuditEntryDeferral(t *testing.T) {
	tests := []struct {
		name  string
		entry store.AuditEntry
		want  string
	}{
		{"episode ended", store.AuditEntry{Outcome: store.AuditRetry, Deferrals: 37, DeferReason: "user_busy"}, "deferred ×37 (user_busy)"},
		{"episode started", store.AuditEntry{Outcome: store.AuditDeferred, DeferReason: "rate_limited"}, "rate_limited"},
		{"no episode", store.AuditEntry{Outcome: store.OutcomeVerified}, ""},
	}
	for _, tc := range tests {
		if got := tc.entry.Deferral(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestAuditTrailKeepsEveryField: an entry read back from a user's trail is the
// global stream's entry, field for field, for odd user ids and for text with
// the trail's own separators in it.
func TestAuditTrailKeepsEveryField(t *testing.T) { conform(t, testAuditTrailKeepsEveryField) }

func testAuditTrailKeepsEveryField(t *testing.T, b backend) {
	r := b.open(t)
	for _, tc := range oddIDs {
		if err := r.Note(timeout(t), tc.id, store.AuditRegistered, store.AuditByAdminAPI, "odd \x1e detail \x1f:="); err != nil {
			t.Fatalf("%s: note: %v", tc.name, err)
		}
		putPending(t, r, tc.id, time.Now())
		enqueue(t, r, tc.id, "w|"+tc.id)
		j := readOne(t, r, "c1")
		if err := r.Retry(timeout(t), j, time.Now().Add(time.Hour), "auth0 said: 503 \x1e\x1f"); err != nil {
			t.Fatalf("%s: retry: %v", tc.name, err)
		}
		mine, err := r.Audit(timeout(t), tc.id, 10)
		if err != nil || len(mine) != 2 {
			t.Fatalf("%s: trail %+v, %v; want 2 entries", tc.name, mine, err)
		}
		all, err := r.Audit(timeout(t), "", 2)
		if err != nil || len(all) != 2 {
			t.Fatalf("%s: global %+v, %v", tc.name, all, err)
		}
		for i := range all {
			want := all[i]
			want.Error = strings.NewReplacer("\x1e", " ", "\x1f", " ").Replace(want.Error)
			want.Detail = strings.NewReplacer("\x1e", " ", "\x1f", " ").Replace(want.Detail)
			if mine[i] != want {
				t.Errorf("%s: trail entry %+v, want the global one %+v", tc.name, mine[i], want)
			}
		}
	}
}

// TestAuditReadsOldUserStreams: a store upgraded in place still holds each user's
// audit stream of the layout before trails; Audit and the sweep's JobOutcomes read it
// beside the trail, newest first, until it expires.
func TestAuditReadsOldUserStreams(t *testing.T) { conform(t, testAuditReadsOldUserStreams) }

func testAuditReadsOldUserStreams(t *testing.T, b backend) {
	r := b.open(t)
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	for i, outcome := range []string{"provisioned", store.AuditRetry, "verified"} {
		err := r.Client().XAdd(timeout(t), &redis.XAddArgs{Stream: store.UserAuditKey("auth0|1"), Values: []any{
			"time", strconv.FormatInt(old+int64(i), 10), "user_id", "auth0|1", "outcome", outcome,
			"webhook_id", "old-w", "job_id", "1-" + itoa(i), "attempt", "1",
		}}).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Client().PExpire(timeout(t), store.UserAuditKey("auth0|1"), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Note(timeout(t), "auth0|1", store.AuditDeleted, store.AuditByCLI, ""); err != nil {
		t.Fatal(err)
	}
	got, err := r.Audit(timeout(t), "auth0|1", 10)
	var outcomes []string
	for _, e := range got {
		outcomes = append(outcomes, e.Outcome)
	}
	if want := []string{store.AuditDeleted, "verified", store.AuditRetry, "provisioned"}; err != nil || !slices.Equal(outcomes, want) {
		t.Errorf("trail %v, %v; want %v", outcomes, err, want)
	}
	if got, _ := r.Audit(timeout(t), "auth0|1", 2); len(got) != 2 || got[1].Outcome != "verified" {
		t.Errorf("trail limited to 2: %+v", got)
	}
	found, err := r.JobOutcomes(timeout(t), []store.QueuedJob{{UserID: "auth0|1", WebhookID: "old-w"}})
	if e := found[store.QueuedJob{UserID: "auth0|1", WebhookID: "old-w"}]; err != nil || e.Outcome != "verified" || e.JobID != "1-2" {
		t.Errorf("job outcome from the old stream: %+v, %v; want verified, job 1-2", e, err)
	}
}

// TestAuditTrailWithoutRetention: with no retention (keep forever) a trail never
// expires, and reads back.
func TestAuditTrailWithoutRetention(t *testing.T) {
	r := openStore(t, store.WithRetention(0))
	if err := r.Note(timeout(t), "auth0|1", store.AuditRegistered, store.AuditByCLI, ""); err != nil {
		t.Fatal(err)
	}
	if ttl, err := r.Client().PTTL(timeout(t), store.TrailKey(r, "auth0|1")).Result(); err != nil || ttl != -1 {
		t.Errorf("trail ttl %v, %v; want none", ttl, err)
	}
	if got, err := r.Audit(timeout(t), "auth0|1", 10); err != nil || len(got) != 1 || got[0].Outcome != store.AuditRegistered {
		t.Errorf("trail %+v, %v; want the registered entry", got, err)
	}
}
