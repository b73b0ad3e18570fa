package store_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
)

// TestDropMalformed: a job without a user id is acknowledged, deleted and
// audited once, instead of being reclaimed forever.
func TestDropMalformed(t *testing.T) { conform(t, testDropMalformed) }

func testDropMalformed(t *testing.T, b backend) {
	r := b.open(t)
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	if err := r.Client().XAdd(timeout(t), &redis.XAddArgs{Stream: "mp:{mp}:jobs", Values: []any{
		"user_id", "", "webhook_id", "", "payload", "junk", "attempt", "1", "enqueued_at", "0",
	}}).Err(); err != nil {
		t.Fatalf("xadd: %v", err)
	}
	j := readOne(t, r, "c1")
	if err := r.Finish(timeout(t), j, store.Outcome{Code: "wrong_method"}); err == nil {
		t.Fatal("finish of a job without user id: nil error, want a refusal (why the drop exists)")
	}
	for range 2 { // the second is a no-op
		if err := r.DropMalformed(timeout(t), j, "job has no user id"); err != nil {
			t.Fatalf("drop: %v", err)
		}
	}
	if s, err := r.QueueStats(timeout(t)); err != nil || s.Queued != 0 || s.InFlight != 0 {
		t.Errorf("stats %+v, %v; want nothing queued or in flight", s, err)
	}
	if jobs, err := r.Reclaim(timeout(t), "c2", 0, 10); err != nil || len(jobs) != 0 {
		t.Errorf("reclaim after drop: %d jobs, %v; want none", len(jobs), err)
	}
	audit, err := r.Audit(timeout(t), "", 10)
	if err != nil || len(audit) != 1 || audit[0].Outcome != store.AuditMalformed || audit[0].JobID != j.ID {
		t.Errorf("global audit %+v, %v; want one %s entry for %s", audit, err, store.AuditMalformed, j.ID)
	}
}
