package store_test

import (
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// TestDeferKeepsAttempt: a deferred job comes back with the attempt it had,
// where a retried one comes back with the next.
func TestDeferKeepsAttempt(t *testing.T) {
	tests := []struct {
		name        string
		park        func(r *store.Redis, j store.Job, due time.Time) error
		wantAttempt int
		wantAudit   string
	}{
		{"retry counts the attempt", func(r *store.Redis, j store.Job, due time.Time) error {
			return r.Retry(timeout(t), j, due, "auth0: 503")
		}, 2, store.AuditRetry},
		{"defer does not", func(r *store.Redis, j store.Job, due time.Time) error {
			return r.Defer(timeout(t), j, due, "auth0: 503")
		}, 1, store.AuditDeferred},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := openStore(t)
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
			audit, err := r.Audit(timeout(t), "auth0|1", 10)
			if err != nil || len(audit) != 1 || audit[0].Outcome != tc.wantAudit || audit[0].Attempt != 1 || audit[0].Error != "auth0: 503" {
				t.Errorf("audit %+v, %v; want one %s entry for attempt 1 with the reason", audit, err, tc.wantAudit)
			}
		})
	}
}
