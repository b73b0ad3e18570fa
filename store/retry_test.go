package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestRetryThenMoveDue(t *testing.T) { conform(t, testRetryThenMoveDue) }

func testRetryThenMoveDue(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	enqueue(t, r, "auth0|1", "w1")
	j := readOne(t, r, "c1")
	mustClaim(t, r, "auth0|1", j.Owner(), true)
	j.Payload = []byte("{\"x\":\"\\u00e9\"}\x00\xfe\xff/\"\\ binary") // survives the JSON member

	now := time.Now()
	if err := r.Retry(timeout(t), j, now.Add(time.Minute), "auth0: 503"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := r.Retry(timeout(t), j, now.Add(time.Minute), "again"); err != nil {
		t.Fatalf("second retry: %v", err)
	}
	stats, err := r.QueueStats(timeout(t))
	if err != nil || stats.Queued != 0 || stats.Delayed != 1 || stats.InFlight != 0 {
		t.Fatalf("stats after retry %+v, %v; want 0 queued, 1 delayed (second Retry a no-op)", stats, err)
	}

	if n, err := r.MoveDue(timeout(t), now, 10); err != nil || n != 0 {
		t.Fatalf("move before due: %d, %v; want 0", n, err)
	}
	if n, err := r.MoveDue(timeout(t), now.Add(time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("move when due: %d, %v; want 1", n, err)
	}
	got := readOne(t, r, "c2")
	if got.ID == j.ID || got.UserID != j.UserID || got.WebhookID != j.WebhookID ||
		string(got.Payload) != string(j.Payload) || got.Attempt != 2 || got.LastError != "auth0: 503" ||
		!got.EnqueuedAt.Equal(j.EnqueuedAt) {
		t.Errorf("moved job %+v\nwant the same job as attempt 2 with its last error, from %+v", got, j)
	}
	// The lock is still this event's: the retried job may take it again.
	mustClaim(t, r, "auth0|1", got.Owner(), true)

	audit, err := r.Audit(timeout(t), "auth0|1", 10)
	if err != nil || len(audit) != 1 || audit[0].Outcome != store.AuditRetry || audit[0].Error != "auth0: 503" || audit[0].Attempt != 1 {
		t.Errorf("audit %+v, %v; want one retry entry for attempt 1 with the error", audit, err)
	}
}

func TestMoveDueMovesOnlyDueJobs(t *testing.T) { conform(t, testMoveDueMovesOnlyDueJobs) }

func testMoveDueMovesOnlyDueJobs(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	base := time.Now().Truncate(time.Millisecond)
	for i := range 5 {
		enqueue(t, r, "auth0|1", fmt.Sprintf("w%d", i))
		j := readOne(t, r, "c1")
		if err := r.Retry(timeout(t), j, base.Add(time.Duration(i+1)*time.Minute), "boom"); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	tests := []struct {
		name     string
		now      time.Time
		limit    int
		want     int
		wantLeft int64
	}{
		{"none due", base, 10, 0, 5},
		{"due exactly now", base.Add(time.Minute), 10, 1, 4},
		{"two more due", base.Add(3 * time.Minute), 10, 2, 2},
		{"limit respected", base.Add(time.Hour), 1, 1, 1},
		{"rest", base.Add(time.Hour), 0, 1, 0},
	}
	for _, tc := range tests {
		n, err := r.MoveDue(timeout(t), tc.now, tc.limit)
		if err != nil || n != tc.want {
			t.Errorf("%s: moved %d, %v; want %d", tc.name, n, err, tc.want)
		}
		if s, _ := r.QueueStats(timeout(t)); s.Delayed != tc.wantLeft {
			t.Errorf("%s: %d delayed left, want %d", tc.name, s.Delayed, tc.wantLeft)
		}
	}
	if n := streamLen(t, r, "mp:{mp}:jobs"); n != 5 {
		t.Errorf("%d jobs back on the stream, want 5", n)
	}
}

// TestConcurrentMoversMoveEachJobOnce runs several movers at once.
func TestConcurrentMoversMoveEachJobOnce(t *testing.T) {
	conform(t, testConcurrentMoversMoveEachJobOnce)
}

func testConcurrentMoversMoveEachJobOnce(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	const jobs = 60
	for i := range jobs {
		enqueue(t, r, "auth0|1", fmt.Sprintf("w%d", i))
	}
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	read, err := r.Read(timeout(t), "c1", jobs, 0)
	if err != nil || len(read) != jobs {
		t.Fatalf("read %d, %v; want %d", len(read), err, jobs)
	}
	now := time.Now()
	for _, j := range read {
		if err := r.Retry(timeout(t), j, now, "boom"); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	var moved atomic.Int64
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				n, err := r.MoveDue(timeout(t), now, 7)
				if err != nil {
					t.Errorf("move: %v", err)
					return
				}
				if n == 0 {
					return
				}
				moved.Add(int64(n))
			}
		})
	}
	wg.Wait()
	if moved.Load() != jobs {
		t.Errorf("movers moved %d, want %d", moved.Load(), jobs)
	}
	if n := streamLen(t, r, "mp:{mp}:jobs"); n != jobs {
		t.Errorf("%d jobs on the stream, want %d", n, jobs)
	}
}

func TestMoveDueDeadLettersUndecodableMembers(t *testing.T) {
	conform(t, testMoveDueDeadLettersUndecodableMembers)
}

func testMoveDueDeadLettersUndecodableMembers(t *testing.T, b backend) {
	r := b.open(t)
	if err := r.Client().ZAdd(timeout(t), "mp:{mp}:delayed", zmember(1, "not json")).Err(); err != nil {
		t.Fatalf("zadd: %v", err)
	}
	if n, err := r.MoveDue(timeout(t), time.Now(), 10); err != nil || n != 1 {
		t.Fatalf("move: %d, %v; want 1", n, err)
	}
	dead, err := r.ListDLQ(timeout(t), 10)
	if err != nil || len(dead) != 1 || string(dead[0].Job.Payload) != "not json" {
		t.Fatalf("dead letters %+v, %v; want the raw member", dead, err)
	}
	if n := streamLen(t, r, "mp:{mp}:jobs"); n != 0 {
		t.Errorf("%d jobs on the stream, want 0", n)
	}
}
