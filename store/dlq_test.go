package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestDeadLetterAndReplay(t *testing.T) { conform(t, testDeadLetterAndReplay) }

func testDeadLetterAndReplay(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	enqueue(t, r, "auth0|1", "w1")
	j := readOne(t, r, "c1")
	mustClaim(t, r, "auth0|1", j.Owner(), true)

	if err := r.DeadLetter(timeout(t), j, "auth0: 500 five times"); err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	if err := r.DeadLetter(timeout(t), j, "again"); err != nil {
		t.Fatalf("second dead letter: %v", err)
	}
	stats, err := r.QueueStats(timeout(t))
	if err != nil || stats.Queued != 0 || stats.Dead != 1 || stats.InFlight != 0 {
		t.Fatalf("stats %+v, %v; want 0 queued, 1 dead (second DeadLetter a no-op)", stats, err)
	}
	// The lock is released: another login may verify the user.
	if rec, _ := r.Get(timeout(t), "auth0|1"); rec.Status != store.StatusPending || rec.Holder != "" {
		t.Errorf("record %q claimed by %q after dead letter, want pending, unclaimed", rec.Status, rec.Holder)
	}

	dead, err := r.ListDLQ(timeout(t), 10)
	if err != nil || len(dead) != 1 {
		t.Fatalf("list dead letters: %d, %v; want 1", len(dead), err)
	}
	d := dead[0]
	if d.ID == "" || d.Job.ID != j.ID || d.Job.UserID != "auth0|1" || d.Job.WebhookID != "w1" ||
		string(d.Job.Payload) != string(j.Payload) || d.Error != "auth0: 500 five times" || d.DiedAt.IsZero() {
		t.Errorf("dead letter %+v, want job %s with its error", d, j.ID)
	}

	newID, err := r.ReplayDLQ(timeout(t), d.ID)
	if err != nil || newID == "" {
		t.Fatalf("replay: %q, %v", newID, err)
	}
	// A second run, by the operator or by go-redis re-sending the script
	// after a lost reply, reports the job the first one made: not "not
	// found", not a second copy.
	if again, err := r.ReplayDLQ(timeout(t), d.ID); err != nil || again != newID {
		t.Errorf("second replay: %q, %v; want %q", again, err, newID)
	}
	if again, err := store.RunReplayScript(timeout(t), r, d.ID, "auth0|1"); err != nil || again != newID {
		t.Errorf("re-sent replay script: %q, %v; want %q", again, err, newID)
	}
	if n := streamLen(t, r, "mp:{mp}:jobs"); n != 1 {
		t.Errorf("%d jobs on the stream after three replays, want 1", n)
	}
	if _, err := r.ReplayDLQ(timeout(t), "1-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replay of an unknown id: %v, want ErrNotFound", err)
	}
	got := readOne(t, r, "c2")
	if got.ID != newID || got.WebhookID != "w1" || got.Attempt != 1 || string(got.Payload) != string(j.Payload) {
		t.Errorf("replayed job %+v, want %s as a fresh attempt of w1", got, newID)
	}
	if dead, _ := r.ListDLQ(timeout(t), 10); len(dead) != 0 {
		t.Errorf("%d dead letters after replay, want 0", len(dead))
	}

	audit, err := r.Audit(timeout(t), "auth0|1", 10)
	var outcomes []string
	for _, a := range audit {
		outcomes = append(outcomes, a.Outcome)
	}
	if err != nil || len(outcomes) != 2 || outcomes[0] != store.AuditReplayed || outcomes[1] != store.AuditDeadLetter {
		t.Errorf("audit outcomes %v, %v; want [replayed dead_letter]", outcomes, err)
	}
}

func TestDLQCapped(t *testing.T) { conform(t, testDLQCapped) }

func testDLQCapped(t *testing.T, b backend) {
	r := b.open(t, store.WithDLQMaxLen(5))
	putPending(t, r, "auth0|1", time.Now())
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	const n = 250
	for i := range n {
		enqueue(t, r, "auth0|1", "w"+itoa(i))
	}
	jobs, err := r.Read(timeout(t), "c1", n, 0)
	if err != nil || len(jobs) != n {
		t.Fatalf("read %d, %v", len(jobs), err)
	}
	for _, j := range jobs {
		if err := r.DeadLetter(timeout(t), j, "boom"); err != nil {
			t.Fatalf("dead letter: %v", err)
		}
	}
	// Approximate trimming removes whole stream nodes (100 entries by
	// default): at least the cap is kept, and far fewer than were added.
	got := streamLen(t, r, "mp:{mp}:dlq")
	if got < 5 || got > 5+100 {
		t.Errorf("dead-letter stream holds %d of %d, want between 5 and 105", got, n)
	}
}

// TestReplayDLQRefusesEntryWithoutUser: the dead letter of an undecodable
// delayed job has no user id; replayed, it could never be acknowledged.
func TestReplayDLQRefusesEntryWithoutUser(t *testing.T) {
	conform(t, testReplayDLQRefusesEntryWithoutUser)
}

func testReplayDLQRefusesEntryWithoutUser(t *testing.T, b backend) {
	r := b.open(t)
	if err := r.Client().ZAdd(timeout(t), "mp:{mp}:delayed", zmember(1, "not json")).Err(); err != nil {
		t.Fatalf("zadd: %v", err)
	}
	if _, err := r.MoveDue(timeout(t), time.Now(), 10); err != nil {
		t.Fatalf("move: %v", err)
	}
	dead, err := r.ListDLQ(timeout(t), 10)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %d, %v; want 1", len(dead), err)
	}
	if id, err := r.ReplayDLQ(timeout(t), dead[0].ID); !errors.Is(err, store.ErrMalformedJob) {
		t.Errorf("replay: %q, %v; want ErrMalformedJob", id, err)
	}
	if _, err := store.RunReplayScript(timeout(t), r, dead[0].ID, ""); err == nil {
		t.Error("replay script alone: nil error, want a refusal")
	}
	if n := streamLen(t, r, "mp:{mp}:jobs"); n != 0 {
		t.Errorf("%d jobs on the stream, want 0", n)
	}
	if left, _ := r.ListDLQ(timeout(t), 10); len(left) != 1 {
		t.Errorf("%d dead letters after the refused replay, want 1 (kept for a person)", len(left))
	}
}
