package store_test

import (
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// enqueue ingests one event for a pending user and returns its job id.
func enqueue(t *testing.T, r *store.Redis, userID, webhookID string) string {
	t.Helper()
	res, err := r.Ingest(timeout(t), store.IngestRequest{
		WebhookID: webhookID, UserID: userID, ReplayTTL: time.Minute, Payload: []byte(`{"w":"` + webhookID + `"}`),
	})
	if err != nil || res.Status != store.IngestQueued {
		t.Fatalf("ingest %s for %s: %+v, %v; want queued", webhookID, short(userID), res, err)
	}
	return res.JobID
}

// readOne reads exactly one job as consumer.
func readOne(t *testing.T, r *store.Redis, consumer string) store.Job {
	t.Helper()
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	jobs, err := r.Read(timeout(t), consumer, 1, 0)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("read: %d jobs, %v; want 1", len(jobs), err)
	}
	return jobs[0]
}

// finishUser walks one event for userID through the queue to outcome.
func finishUser(t *testing.T, r *store.Redis, userID string, outcome store.Outcome) {
	t.Helper()
	enqueue(t, r, userID, "w-"+userID)
	j := readOne(t, r, "helper")
	if j.UserID != userID {
		t.Fatalf("read a job for %q, want %q", j.UserID, userID)
	}
	if _, ok, err := r.Claim(timeout(t), userID, j.Owner()); !ok || err != nil {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	if err := r.Finish(timeout(t), j, outcome); err != nil {
		t.Fatalf("finish: %v", err)
	}
}

func TestReadRecoversFromLostGroup(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, r *store.Redis, restart func())
	}{
		{"FLUSHDB", func(t *testing.T, r *store.Redis, _ func()) {
			if err := r.Client().FlushDB(timeout(t)).Err(); err != nil {
				t.Fatalf("flushdb: %v", err)
			}
		}},
		{"FLUSHALL", func(t *testing.T, r *store.Redis, _ func()) {
			if err := r.Client().FlushAll(timeout(t)).Err(); err != nil {
				t.Fatalf("flushall: %v", err)
			}
		}},
		{"restart without persistence", func(t *testing.T, r *store.Redis, restart func()) { restart() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Dedicated(t) // FLUSHALL must not hit the shared server
			r := openURL(t, srv.URL())
			putPending(t, r, "auth0|1", time.Now())
			enqueue(t, r, "auth0|1", "before")
			readOne(t, r, "c1")

			tc.lose(t, r, srv.Restart)

			// Nothing is read before the group exists again...
			if jobs, err := r.Read(timeout(t), "c1", 10, 0); err != nil || len(jobs) != 0 {
				t.Fatalf("read on an empty Redis: %d jobs, %v; want none, nil", len(jobs), err)
			}
			// ...and a job enqueued before any worker read is delivered.
			putPending(t, r, "auth0|1", time.Now())
			if err := r.Client().Del(timeout(t), "mp:{mp}:jobs").Err(); err != nil {
				t.Fatalf("del: %v", err)
			}
			id := enqueue(t, r, "auth0|1", "after")
			jobs, err := r.Read(timeout(t), "c1", 10, 0)
			if err != nil || len(jobs) != 1 || jobs[0].ID != id {
				t.Fatalf("read after the group was lost: %+v, %v; want job %s", jobs, err, id)
			}
		})
	}
}

func TestReadEmptyWaitsThenReturnsNothing(t *testing.T) {
	conform(t, testReadEmptyWaitsThenReturnsNothing)
}

func testReadEmptyWaitsThenReturnsNothing(t *testing.T, b backend) {
	r := b.open(t)
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("second ensure group: %v, want nil (BUSYGROUP is fine)", err)
	}
	for _, block := range []time.Duration{0, -1, 20 * time.Millisecond} {
		jobs, err := r.Read(timeout(t), "c1", 10, block)
		if err != nil || len(jobs) != 0 {
			t.Errorf("block %v: %d jobs, %v; want none, nil", block, len(jobs), err)
		}
	}
}

func TestReclaim(t *testing.T) { conform(t, testReclaim) }

func testReclaim(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	id := enqueue(t, r, "auth0|1", "w1")
	first := readOne(t, r, "dead-worker")

	if jobs, err := r.Reclaim(timeout(t), "c2", time.Hour, 10); err != nil || len(jobs) != 0 {
		t.Fatalf("reclaim of a fresh job: %d jobs, %v; want none", len(jobs), err)
	}
	jobs, err := r.Reclaim(timeout(t), "c2", 0, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("reclaim: %d jobs, %v; want 1", len(jobs), err)
	}
	got := jobs[0]
	if got.ID != id || got.WebhookID != "w1" || got.Deliveries != 2 || got.Owner() != first.Owner() {
		t.Errorf("reclaimed %+v, want job %s, delivered twice, same owner", got, id)
	}

	// The reclaiming worker finishes; the dead worker's late Finish is a no-op.
	if err := r.Finish(timeout(t), got, store.Outcome{Code: "wrong_method"}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if err := r.Finish(timeout(t), first, store.Outcome{Code: "verified", Close: true}); err != nil {
		t.Fatalf("late finish: %v", err)
	}
	rec, err := r.Get(timeout(t), "auth0|1")
	if err != nil || rec.Status != store.StatusPending {
		t.Errorf("record %+v, %v; want still pending (the late Finish must not count)", rec, err)
	}
	if jobs, err := r.Reclaim(timeout(t), "c3", 0, 10); err != nil || len(jobs) != 0 {
		t.Errorf("reclaim after finish: %d jobs, %v; want none", len(jobs), err)
	}
}

func TestReclaimWithoutGroup(t *testing.T) { conform(t, testReclaimWithoutGroup) }

func testReclaimWithoutGroup(t *testing.T, b backend) {
	r := b.open(t)
	if jobs, err := r.Reclaim(timeout(t), "c1", 0, 10); err != nil || len(jobs) != 0 {
		t.Fatalf("reclaim on an empty Redis: %d jobs, %v; want none, nil", len(jobs), err)
	}
}

// TestReclaimReachesDeepPendingEntries: XAUTOCLAIM scans 10×count pending
// entries per call; stuck jobs behind many live ones must still be taken
// over, by carrying its cursor on.
func TestReclaimReachesDeepPendingEntries(t *testing.T) {
	conform(t, testReclaimReachesDeepPendingEntries)
}

func testReclaimReachesDeepPendingEntries(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	const n = 200
	ids := make([]string, n)
	for i := range n {
		ids[i] = enqueue(t, r, "auth0|1", "w"+itoa(i))
	}
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	if jobs, err := r.Read(timeout(t), "live", n, 0); err != nil || len(jobs) != n {
		t.Fatalf("read %d, %v; want %d", len(jobs), err, n)
	}
	// Two jobs whose worker went silent an hour ago, one near the front of
	// the pending list and one far behind live ones.
	stuck := []string{ids[5], ids[n-10]}
	for _, id := range stuck {
		if err := r.Client().Do(timeout(t), "XCLAIM", "mp:{mp}:jobs", "workers", "dead", 0, id, "IDLE", time.Hour.Milliseconds()).Err(); err != nil {
			t.Fatalf("xclaim: %v", err)
		}
	}
	var got []string
	for call := 0; call < 5 && len(got) < len(stuck); call++ {
		jobs, err := r.Reclaim(timeout(t), "c2", time.Minute, 1)
		if err != nil {
			t.Fatalf("reclaim: %v", err)
		}
		for _, j := range jobs {
			got = append(got, j.ID)
		}
	}
	if len(got) != 2 || got[0] != stuck[0] || got[1] != stuck[1] {
		t.Errorf("reclaimed %v in 5 calls, want %v", got, stuck)
	}
}
