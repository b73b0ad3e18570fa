package store_test

import (
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestUndoLifecycle(t *testing.T) { conform(t, testUndoLifecycle) }

func testUndoLifecycle(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour))
	ctx := timeout(t)
	const user = "auth0|x}:{mp}:jobs" // an id that must not forge a key or a field
	u := store.Undo{UserID: user, JobID: "1-0", WebhookID: "msg_a"}

	if _, err := r.ScheduleUndo(ctx, u, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := r.TakeDueUndos(ctx, time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("take while the lister holds it: %+v, %v; want none", got, err)
	}
	// A second listing of the same user changes nothing: one undo per user.
	if _, err := r.ScheduleUndo(ctx, store.Undo{UserID: user, JobID: "2-0", Check: true}, 0); err != nil {
		t.Fatal(err)
	}
	all, err := r.Undos(ctx)
	if err != nil || len(all) != 1 || all[0].JobID != "1-0" || all[0].Check || all[0].Attempts != 0 || all[0].Gen != 2 {
		t.Fatalf("undos %+v, %v; want the first one only, not attempted, listed twice (generation 2)", all, err)
	}
	if s, err := r.QueueStats(ctx); err != nil || s.Undos != 1 {
		t.Errorf("stats %+v, %v; want 1 undo", s, err)
	}

	// Due: taken once, leased, then due again after a failure is recorded with its time.
	if err := r.UndoFailed(ctx, all[0], time.Now().Add(-time.Second), "first"); err != nil {
		t.Fatal(err)
	}
	got, err := r.TakeDueUndos(ctx, time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].UserID != user || got[0].Attempts != 1 || got[0].LastError != "first" {
		t.Fatalf("take: %+v, %v; want the undo, attempt 1, last error first", got, err)
	}
	if again, err := r.TakeDueUndos(ctx, time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("take while leased: %+v, %v; want none", again, err)
	}
	if !got[0].NextAt.After(time.Now().Add(50 * time.Second)) {
		t.Errorf("lease until %v, want about a minute from now", got[0].NextAt)
	}

	if ok, err := r.UndoDone(ctx, user, got[0].Gen, store.AuditFlipUndone, "email_verified set back to false"); !ok || err != nil {
		t.Fatalf("done: %v, %v; want true", ok, err)
	}
	if ok, err := r.UndoDone(ctx, user, got[0].Gen, store.AuditFlipUndone, "again"); ok || err != nil {
		t.Errorf("second done: %v, %v; want false (another replica finished it)", ok, err)
	}
	if err := r.UndoFailed(ctx, u, time.Now(), "late"); err != nil {
		t.Errorf("failure recorded after done: %v", err)
	}
	if all, _ := r.Undos(ctx); len(all) != 0 {
		t.Errorf("undos after done %+v, want none (a late failure must not bring it back)", all)
	}
	entries, err := r.Audit(ctx, user, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit %+v, %v; want one entry", entries, err)
	}
	if e := entries[0]; e.Outcome != store.AuditFlipUndone || e.WebhookID != "msg_a" || e.JobID != "1-0" || e.Attempt != 1 || e.Error != "email_verified set back to false" {
		t.Errorf("audit entry %+v, want flip_undone for msg_a, job 1-0, attempt 1, with the result", e)
	}
}

func TestTakeDueUndosLimit(t *testing.T) { conform(t, testTakeDueUndosLimit) }

func testTakeDueUndosLimit(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	for _, id := range []string{"auth0|1", "auth0|2", "auth0|3"} {
		if _, err := r.ScheduleUndo(ctx, store.Undo{UserID: id}, 0); err != nil {
			t.Fatal(err)
		}
	}
	first, err := r.TakeDueUndos(ctx, time.Minute, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first take: %d, %v; want 2", len(first), err)
	}
	rest, err := r.TakeDueUndos(ctx, time.Minute, 2)
	if err != nil || len(rest) != 1 || rest[0].UserID == first[0].UserID || rest[0].UserID == first[1].UserID {
		t.Fatalf("second take: %+v, %v; want the third one", rest, err)
	}
}

// TestUndoListedAgainWhileTaken: a replica working on a check must not delete a plain
// undo another replica listed for the same user meanwhile.
func TestUndoListedAgainWhileTaken(t *testing.T) { conform(t, testUndoListedAgainWhileTaken) }

func testUndoListedAgainWhileTaken(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	const user = "auth0|a"
	if _, err := r.ScheduleUndo(ctx, store.Undo{UserID: user, Check: true}, 0); err != nil {
		t.Fatal(err)
	}
	taken, err := r.TakeDueUndos(ctx, time.Minute, 10)
	if err != nil || len(taken) != 1 || !taken[0].Check {
		t.Fatalf("take: %+v, %v; want the check", taken, err)
	}
	// Another replica's flip lands on a changed address and lists a plain undo.
	gen, err := r.ScheduleUndo(ctx, store.Undo{UserID: user, JobID: "9-0"}, 0)
	if err != nil || gen != taken[0].Gen+1 {
		t.Fatalf("list again: generation %d, %v; want %d", gen, err, taken[0].Gen+1)
	}
	// The first replica's check found nothing and finishes its generation: the new one stays.
	if ok, err := r.UndoDone(ctx, user, taken[0].Gen, store.AuditFlipChecked, "checked"); ok || err != nil {
		t.Errorf("done with the old generation: %v, %v; want false", ok, err)
	}
	all, err := r.Undos(ctx)
	if err != nil || len(all) != 1 || all[0].Check || all[0].Gen != gen {
		t.Fatalf("undos %+v, %v; want the plain undo of generation %d, due", all, err, gen)
	}
	// It is due at once, not after the check's lease.
	again, err := r.TakeDueUndos(ctx, time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Check {
		t.Errorf("take after the new listing: %+v, %v; want the plain undo at once", again, err)
	}
}
