package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
)

func TestQueueStats(t *testing.T) { conform(t, testQueueStats) }

func testQueueStats(t *testing.T, b backend) {
	r := b.open(t)
	if s, err := r.QueueStats(timeout(t)); err != nil || s != (store.Stats{}) {
		t.Fatalf("stats of an empty Redis: %+v, %v; want zeros, nil", s, err)
	}
	for _, u := range []string{"auth0|1", "auth0|2", "auth0|3"} {
		putPending(t, r, u, time.Now())
	}
	for i := range 5 {
		enqueue(t, r, "auth0|1", "w"+itoa(i))
	}
	if s, err := r.QueueStats(timeout(t)); err != nil || s.Queued != 5 || s.InFlight != 0 || s.OldestQueuedSeconds < 0 || s.OldestQueuedSeconds > 5 {
		t.Fatalf("stats before any worker: %+v, %v; want 5 queued, none in flight, the oldest queued just now", s, err)
	}
	delayed := readOne(t, r, "c1")
	dead := readOne(t, r, "c1")
	readOne(t, r, "c1") // in flight
	if err := r.Retry(timeout(t), delayed, time.Now().Add(time.Hour), "boom"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := r.DeadLetter(timeout(t), dead, "boom"); err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	got, err := r.QueueStats(timeout(t))
	got.OldestQueuedSeconds = 0 // TestQueueStatsOldestQueued checks it
	want := store.Stats{Pending: 3, Queued: 3, InFlight: 1, Delayed: 1, Dead: 1}
	if err != nil || got != want {
		t.Errorf("stats %+v, %v; want %+v", got, err, want)
	}
}

// TestQueueStatsOldestQueued: the age of the oldest job is read from its stream entry id
// against Redis's clock, whether it waits or a worker holds it, and is 0 once the stream
// is empty.
func TestQueueStatsOldestQueued(t *testing.T) {
	r := openStore(t)
	now, err := r.Client().Time(timeout(t)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i, ago := range []time.Duration{90 * time.Second, 30 * time.Second} {
		id := strconv.FormatInt(now.Add(-ago).UnixMilli(), 10) + "-0"
		if err := r.Client().XAdd(timeout(t), &redis.XAddArgs{Stream: "mp:{mp}:jobs", ID: id, Values: []any{
			"user_id", "auth0|" + itoa(i), "webhook_id", "w" + itoa(i), "payload", "{}", "attempt", "1", "enqueued_at", "0",
		}}).Err(); err != nil {
			t.Fatalf("xadd %s: %v", id, err)
		}
	}
	check := func(when string, lo, hi float64) {
		t.Helper()
		s, err := r.QueueStats(timeout(t))
		if err != nil || s.OldestQueuedSeconds < lo || s.OldestQueuedSeconds >= hi {
			t.Errorf("%s: oldest queued %.3fs, %v; want [%v, %v)", when, s.OldestQueuedSeconds, err, lo, hi)
		}
	}
	check("two waiting", 90, 95)
	first := readOne(t, r, "c1")
	check("the oldest in flight", 90, 95)
	if err := r.DropMalformed(timeout(t), first, "test"); err != nil {
		t.Fatal(err)
	}
	check("the oldest gone", 30, 35)
	if err := r.DropMalformed(timeout(t), readOne(t, r, "c1"), "test"); err != nil {
		t.Fatal(err)
	}
	check("nothing queued", 0, 0.001)
}
