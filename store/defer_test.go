package store_test

import (
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// TestDeferKeepsAttempt: a deferred job comes back with the attempt it had,
// where a retried one comes back with the next.
func TestDeferKeepsAttempt(t *testing.T) { conform(t, testDeferKeepsAttempt) }

func testDeferKeepsAttempt(t *testing.T, b backend) {
	tests := []struct {
		name          string
		park          func(r *store.Redis, j store.Job, due time.Time) error
		wantAttempt   int
		wantDeferrals int
		wantAudit     string
		wantReason    string
	}{
		{"retry counts the attempt", func(r *store.Redis, j store.Job, due time.Time) error {
			return r.Retry(timeout(t), j, due, "auth0: 503")
		}, 2, 0, store.AuditRetry, ""},
		{"defer does not", func(r *store.Redis, j store.Job, due time.Time) error {
			return r.Defer(timeout(t), j, due, "rate_limited", "auth0: 503")
		}, 1, 1, store.AuditDeferred, "rate_limited"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.open(t)
			putPending(t, r, "auth0|1", time.Now())
			enqueue(t, r, "auth0|1", "w1")
			j := readOne(t, r, "c1")
			due := time.Now()
			for range 3 { // the same delivery parked again is a no-op
				if err := tc.park(r, j, due); err != nil {
					t.Fatalf("park: %v", err)
				}
			}
			if n, err := r.MoveDue(timeout(t), due, 10); err != nil || n != 1 {
				t.Fatalf("move: %d, %v; want 1", n, err)
			}
			got := readOne(t, r, "c2")
			if got.Attempt != tc.wantAttempt || got.LastError != "auth0: 503" || !got.EnqueuedAt.Equal(j.EnqueuedAt) || got.WebhookID != "w1" {
				t.Errorf("job back as attempt %d, last error %q, enqueued %v; want attempt %d, the reason, enqueued %v",
					got.Attempt, got.LastError, got.EnqueuedAt, tc.wantAttempt, j.EnqueuedAt)
			}
			if got.Deferrals != tc.wantDeferrals || got.DeferReason != tc.wantReason {
				t.Errorf("job back with %d deferrals (%q), want %d (%q)", got.Deferrals, got.DeferReason, tc.wantDeferrals, tc.wantReason)
			}
			audit, err := r.Audit(timeout(t), "auth0|1", 10)
			if err != nil || len(audit) != 1 || audit[0].Outcome != tc.wantAudit || audit[0].Attempt != 1 || audit[0].Error != "auth0: 503" ||
				audit[0].DeferReason != tc.wantReason || audit[0].Deferrals != 0 {
				t.Errorf("audit %+v, %v; want one %s entry for attempt 1 with the error and reason %q", audit, err, tc.wantAudit, tc.wantReason)
			}
		})
	}
}

// deferN defers j n times, moving it back to the stream after each, the way
// the worker's mover does, and returns the job as last read. The reasons
// cycle through reasons; each deferral continues the same episode and keeps
// the attempt.
func deferN(t *testing.T, r *store.Redis, j store.Job, n int, reasons ...string) store.Job {
	t.Helper()
	attempt := j.Attempt
	for i := range n {
		now := time.Now()
		reason := reasons[i%len(reasons)]
		if err := r.Defer(timeout(t), j, now, reason, "waited for "+reason); err != nil {
			t.Fatalf("defer %d: %v", i+1, err)
		}
		if moved, err := r.MoveDue(timeout(t), now, 10); err != nil || moved != 1 {
			t.Fatalf("move %d: %d, %v; want 1", i+1, moved, err)
		}
		j = readOne(t, r, "c1")
		if j.Deferrals != i+1 || j.DeferReason != reason || j.Attempt != attempt {
			t.Fatalf("after deferral %d: job back with %d deferrals (%q), attempt %d; want %d (%q), attempt %d",
				i+1, j.Deferrals, j.DeferReason, j.Attempt, i+1, reason, attempt)
		}
	}
	return j
}

// TestDeferralEpisodeIsOneAuditEntry: however often a job is deferred, the
// user's trail holds one deferred entry for the episode, and the entry that
// ends it (finish, counted retry, dead letter) says how many and why.
func TestDeferralEpisodeIsOneAuditEntry(t *testing.T) { conform(t, testDeferralEpisodeIsOneAuditEntry) }

func testDeferralEpisodeIsOneAuditEntry(t *testing.T, b backend) {
	const user, n = "auth0|1", 7
	tests := []struct {
		name string
		end  func(r *store.Redis, j store.Job) error
		want string
	}{
		{"finish", func(r *store.Redis, j store.Job) error {
			return r.Finish(timeout(t), j, store.Outcome{Code: store.OutcomeVerified, Close: true})
		}, store.OutcomeVerified},
		{"counted retry", func(r *store.Redis, j store.Job) error {
			return r.Retry(timeout(t), j, time.Now(), "auth0: 500")
		}, store.AuditRetry},
		{"dead letter", func(r *store.Redis, j store.Job) error {
			return r.DeadLetter(timeout(t), j, "auth0: 500")
		}, store.AuditDeadLetter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.open(t)
			putPending(t, r, user, time.Now())
			enqueue(t, r, user, "w1")
			j := deferN(t, r, readOne(t, r, "c1"), n, "rate_limited", "user_busy", "budget_wait")
			if err := tc.end(r, j); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}

			audit, err := r.Audit(timeout(t), user, 100)
			if err != nil || len(audit) != 2 {
				t.Fatalf("%s: audit %+v, %v; want two entries: the episode's start and its end", tc.name, audit, err)
			}
			end, start := audit[0], audit[1]
			if start.Outcome != store.AuditDeferred || start.DeferReason != "rate_limited" || start.Error != "waited for rate_limited" || start.Deferrals != 0 {
				t.Errorf("%s: first entry %+v, want deferred with the first reason and its error", tc.name, start)
			}
			if end.Outcome != tc.want || end.Deferrals != n || end.DeferReason != "rate_limited" || end.JobID != j.ID {
				t.Errorf("%s: last entry %s with %d deferrals (%q) for job %s, want %s with %d (%q, the last) for %s",
					tc.name, end.Outcome, end.Deferrals, end.DeferReason, end.JobID, tc.want, n, "rate_limited", j.ID)
			}
			if got, want := end.Deferral(), "deferred ×7 (rate_limited)"; got != want {
				t.Errorf("%s: Deferral() %q, want %q", tc.name, got, want)
			}
			// The global trail holds the same two entries, not n.
			if all, err := r.Audit(timeout(t), "", 100); err != nil || len(all) != 2 {
				t.Errorf("%s: global audit holds %d entries, %v; want 2", tc.name, len(all), err)
			}
		})
	}
}

// TestRetryEndsDeferralEpisode: after a counted retry the job starts afresh,
// so its next wait is a new episode with its own deferred entry.
func TestRetryEndsDeferralEpisode(t *testing.T) { conform(t, testRetryEndsDeferralEpisode) }

func testRetryEndsDeferralEpisode(t *testing.T, b backend) {
	const user = "auth0|1"
	r := b.open(t)
	putPending(t, r, user, time.Now())
	enqueue(t, r, user, "w1")
	j := deferN(t, r, readOne(t, r, "c1"), 3, "user_busy")
	now := time.Now()
	if err := r.Retry(timeout(t), j, now, "auth0: 500"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if moved, err := r.MoveDue(timeout(t), now, 10); err != nil || moved != 1 {
		t.Fatalf("move: %d, %v; want 1", moved, err)
	}
	j = readOne(t, r, "c1")
	if j.Attempt != 2 || j.Deferrals != 0 || j.DeferReason != "" {
		t.Fatalf("after the retry: attempt %d, %d deferrals (%q); want attempt 2, none", j.Attempt, j.Deferrals, j.DeferReason)
	}
	j = deferN(t, r, j, 2, "rate_limited")
	if err := r.Finish(timeout(t), j, store.Outcome{Code: store.OutcomeVerified, Close: true}); err != nil {
		t.Fatalf("finish: %v", err)
	}

	audit, err := r.Audit(timeout(t), user, 100)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	type entry struct {
		outcome   string
		attempt   int
		deferrals int
		reason    string
	}
	var got []entry
	for i := len(audit) - 1; i >= 0; i-- {
		a := audit[i]
		got = append(got, entry{a.Outcome, a.Attempt, a.Deferrals, a.DeferReason})
	}
	want := []entry{
		{store.AuditDeferred, 1, 0, "user_busy"},
		{store.AuditRetry, 1, 3, "user_busy"},
		{store.AuditDeferred, 2, 0, "rate_limited"},
		{store.OutcomeVerified, 2, 2, "rate_limited"},
	}
	if len(got) != len(want) {
		t.Fatalf("audit %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if audit[2].Error != "auth0: 500" {
		t.Errorf("retry entry error %q, want the attempt's error", audit[2].Error)
	}
}

// TestDeferralOfJobsQueuedBeforeEpisodes: jobs parked or queued without the
// episode fields (before they existed) read as outside any episode: their
// next deferral starts one.
func TestDeferralOfJobsQueuedBeforeEpisodes(t *testing.T) {
	conform(t, testDeferralOfJobsQueuedBeforeEpisodes)
}

func testDeferralOfJobsQueuedBeforeEpisodes(t *testing.T, b backend) {
	const user = "auth0|1"
	r := b.open(t)
	putPending(t, r, user, time.Now())
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	// A delayed member as the retry script wrote it before deferral episodes.
	old := `{"id":"1-1","user_id":"auth0|1","webhook_id":"w1","payload_b64":"e30=","attempt":"2","enqueued_at":"1700000000000","last_error":"auth0: 429"}`
	if err := r.Client().ZAdd(timeout(t), "mp:{mp}:delayed", zmember(1, old)).Err(); err != nil {
		t.Fatalf("zadd: %v", err)
	}
	if moved, err := r.MoveDue(timeout(t), time.Now(), 10); err != nil || moved != 1 {
		t.Fatalf("move: %d, %v; want 1", moved, err)
	}
	j := readOne(t, r, "c1")
	if j.Attempt != 2 || j.Deferrals != 0 || j.DeferReason != "" || string(j.Payload) != "{}" {
		t.Fatalf("old member back as attempt %d, %d deferrals (%q), payload %q; want attempt 2, none, {}", j.Attempt, j.Deferrals, j.DeferReason, j.Payload)
	}
	j = deferN(t, r, j, 2, "rate_limited")
	if err := r.Finish(timeout(t), j, store.Outcome{Code: "wrong_method"}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	audit, err := r.Audit(timeout(t), user, 100)
	if err != nil || len(audit) != 2 || audit[1].Outcome != store.AuditDeferred || audit[0].Deferrals != 2 {
		t.Errorf("audit %+v, %v; want one deferred entry, then wrong_method with 2 deferrals", audit, err)
	}
}
