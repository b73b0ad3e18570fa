package store_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

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
	// The per-user trail is trimmed exactly, and expires with the retention.
	key := "mp:{mp}:audit:YXV0aDB8MQ"
	if got := streamLen(t, r, key); got != 100 {
		t.Errorf("user trail holds %d, want 100", got)
	}
	if ttl, _ := r.Client().PTTL(timeout(t), key).Result(); ttl <= 0 {
		t.Errorf("user trail ttl %v, want the retention", ttl)
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
