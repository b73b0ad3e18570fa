package store_test

import (
	"testing"
	"time"

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
	if s, err := r.QueueStats(timeout(t)); err != nil || s.Queued != 5 || s.InFlight != 0 {
		t.Fatalf("stats before any worker: %+v, %v; want 5 queued, none in flight", s, err)
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
	want := store.Stats{Pending: 3, Queued: 3, InFlight: 1, Delayed: 1, Dead: 1}
	if err != nil || got != want {
		t.Errorf("stats %+v, %v; want %+v", got, err, want)
	}
}
