package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestSweepLockAndCursor(t *testing.T) { conform(t, testSweepLockAndCursor) }

func testSweepLockAndCursor(t *testing.T, be backend) {
	r := be.open(t)
	ctx := timeout(t)
	const a, b = "replica-a", "replica-b"

	if ok, err := r.AcquireSweep(ctx, a, time.Minute); !ok || err != nil {
		t.Fatalf("a acquires: %v, %v", ok, err)
	}
	if ok, err := r.AcquireSweep(ctx, a, time.Minute); !ok || err != nil {
		t.Fatalf("a acquires again (a retry after a lost answer): %v, %v; want true", ok, err)
	}
	if ok, err := r.AcquireSweep(ctx, b, time.Minute); ok || err != nil {
		t.Fatalf("b acquires while a holds it: %v, %v; want false", ok, err)
	}
	st := store.SweepState{Run: "run-1", Path: "export", From: time.UnixMilli(1000).UTC(), To: time.UnixMilli(9000).UTC(),
		Pos: time.UnixMilli(5000).UTC(), ExportJob: "job_1", Line: 300, StartedAt: time.UnixMilli(9000).UTC()}
	if err := r.SaveSweep(ctx, a, st); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveSweep(ctx, b, store.SweepState{Run: "forged"}); !errors.Is(err, store.ErrSweepLost) {
		t.Fatalf("b saves without the lock: %v; want ErrSweepLost", err)
	}
	if err := r.RenewSweep(ctx, b, time.Minute); !errors.Is(err, store.ErrSweepLost) {
		t.Fatalf("b renews: %v; want ErrSweepLost", err)
	}
	if err := r.ReleaseSweep(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadSweep(ctx)
	if err != nil || got != st {
		t.Fatalf("read back %+v, %v; want %+v (b changed nothing)", got, err, st)
	}

	// A finished run clears the cursor and keeps the history.
	done := store.SweepState{LastRun: "run-1", LastPath: "export", LastSuccess: time.UnixMilli(9500).UTC(), LastTo: st.To}
	if err := r.SaveSweep(ctx, a, done); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.ReadSweep(ctx); got != done {
		t.Fatalf("after the run: %+v; want %+v", got, done)
	}
	if err := r.ReleaseSweep(ctx, a); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.AcquireSweep(ctx, b, 200*time.Millisecond); !ok || err != nil {
		t.Fatalf("b acquires once a released: %v, %v", ok, err)
	}

	// b dies without releasing: its lease runs out and a takes over; b, back, can no
	// longer move the cursor.
	time.Sleep(300 * time.Millisecond)
	if ok, err := r.AcquireSweep(ctx, a, time.Minute); !ok || err != nil {
		t.Fatalf("a acquires after b's lease ran out: %v, %v", ok, err)
	}
	if err := r.SaveSweep(ctx, b, store.SweepState{Run: "stale"}); !errors.Is(err, store.ErrSweepLost) {
		t.Fatalf("b saves after its lease ran out: %v; want ErrSweepLost", err)
	}
}

func TestSweepHelpers(t *testing.T) { conform(t, testSweepHelpers) }

func testSweepHelpers(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	if _, ok, err := r.OldestPending(ctx); ok || err != nil {
		t.Fatalf("oldest of none: %v, %v", ok, err)
	}
	old := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	putPending(t, r, "auth0|old", old)
	putPending(t, r, "auth0|new", time.Now())
	if at, ok, err := r.OldestPending(ctx); !ok || err != nil || !at.Equal(old) {
		t.Fatalf("oldest: %v %v %v; want %v", at, ok, err, old)
	}
	if n, err := r.PendingCount(ctx); n != 2 || err != nil {
		t.Fatalf("count %d, %v; want 2", n, err)
	}
	recs, errs := r.GetMany(ctx, []string{"auth0|old", "auth0|none", "auth0|new"})
	if recs[0].UserID != "auth0|old" || errs[0] != nil || !errors.Is(errs[1], store.ErrNotFound) || recs[2].UserID != "auth0|new" {
		t.Fatalf("get many: %+v %v", recs, errs)
	}

	if err := r.AddSweepCalls(ctx, "run-1", 2); err != nil {
		t.Fatal(err)
	}
	if err := r.AddSweepCalls(ctx, "run-1", 1); err != nil {
		t.Fatal(err)
	}
	if n, err := r.SweepCalls(ctx, "run-1"); n != 3 || err != nil {
		t.Fatalf("calls %d, %v; want 3", n, err)
	}
	if n, err := r.SweepCalls(ctx, "run-2"); n != 0 || err != nil {
		t.Fatalf("calls of an unknown run %d, %v; want 0", n, err)
	}
}

func TestAuditSource(t *testing.T) {
	for id, want := range map[string]string{
		store.SourceReconcile + "auth0|1:1700000000000": store.SourceSweep,
		"msg_2Yh3kq": store.SourceWebhook,
		"":           store.SourceOperator,
	} {
		if got := (store.AuditEntry{WebhookID: id}).Source(); got != want {
			t.Errorf("source of %q: %s, want %s", id, got, want)
		}
	}
}
