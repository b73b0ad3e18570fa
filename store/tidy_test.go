package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// tidyAt runs one tidy pass as if at t and restores the store's clock.
func tidyAt(t *testing.T, r *store.Redis, at time.Time) store.TidyReport {
	t.Helper()
	if err := store.ClearTidyLease(timeout(t), r); err != nil {
		t.Fatal(err)
	}
	store.SetClock(r, func() time.Time { return at })
	defer store.SetClock(r, time.Now)
	rep, err := r.TidyRecords(timeout(t), "test", time.Minute)
	if err != nil {
		t.Fatalf("tidy at %v: %v", at, err)
	}
	return rep
}

// wantEndOfLife checks that the tidy pass keeps user's record until end and
// deletes it from then on; a zero end means it is never deleted.
func wantEndOfLife(t *testing.T, r *store.Redis, user string, end time.Time) {
	t.Helper()
	exists := func() bool {
		_, err := r.Get(timeout(t), user)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get %s: %v", user, err)
		}
		return err == nil
	}
	if end.IsZero() {
		tidyAt(t, r, time.Now().Add(100*365*24*time.Hour))
		if !exists() {
			t.Errorf("%s: deleted by the tidy pass, want kept forever", user)
		}
		return
	}
	tidyAt(t, r, end.Add(-time.Millisecond))
	if !exists() {
		t.Fatalf("%s: deleted a millisecond before its end of life %v", user, end)
	}
	tidyAt(t, r, end)
	if exists() {
		t.Errorf("%s: kept at its end of life %v, want deleted", user, end)
	}
}

func TestTidyRecords(t *testing.T) { conform(t, testTidyRecords) }

func testTidyRecords(t *testing.T, b backend) {
	const retention = time.Hour
	now := time.Now().Truncate(time.Millisecond).UTC()
	tests := []struct {
		name    string
		expires time.Duration // from now; 0: never
		finish  string        // "", verify, close
		end     time.Duration // from now, or from the finish: 0 never
	}{
		{"pending without expiry", 0, "", 0},
		{"pending with expiry", 10 * time.Minute, "", 10*time.Minute + retention},
		{"pending, expired", -10 * time.Minute, "", -10*time.Minute + retention},
		{"verified", 10 * time.Minute, "verify", retention},
		{"closed", 0, "close", retention},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.open(t, store.WithRetention(retention))
			rec := store.Record{UserID: "auth0|1", Email: "a@example.com", ProvisionedAt: now.Add(-time.Hour)}
			if tc.expires != 0 {
				rec.ExpiresAt = now.Add(tc.expires)
			}
			if err := r.PutPending(timeout(t), rec); err != nil {
				t.Fatal(err)
			}
			end := now.Add(tc.end)
			switch tc.finish {
			case "verify":
				finishUser(t, r, "auth0|1", store.Outcome{Code: store.OutcomeVerified, Close: true})
			case "close":
				finishUser(t, r, "auth0|1", store.Outcome{Code: "user_not_found", Close: true})
			}
			if tc.finish != "" {
				got, err := r.Get(timeout(t), "auth0|1")
				if err != nil {
					t.Fatal(err)
				}
				end = got.UpdatedAt.Add(tc.end)
			}
			if tc.end == 0 {
				end = time.Time{}
			}
			wantEndOfLife(t, r, "auth0|1", end)
		})
	}
}

// TestTidyRecordsNoRetention: records kept forever are never read.
func TestTidyRecordsNoRetention(t *testing.T) { conform(t, testTidyRecordsNoRetention) }

func testTidyRecordsNoRetention(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(0))
	past := time.Now().Add(-time.Hour)
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|1", ExpiresAt: past}); err != nil {
		t.Fatal(err)
	}
	if rep := tidyAt(t, r, time.Now().Add(1000*time.Hour)); rep.Ran || rep.Deleted != 0 {
		t.Errorf("tidy without retention: %+v; want nothing done", rep)
	}
	wantEndOfLife(t, r, "auth0|1", time.Time{})
}

// TestTidyRecordsLease: one pass per lease across replicas.
func TestTidyRecordsLease(t *testing.T) { conform(t, testTidyRecordsLease) }

func testTidyRecordsLease(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Minute))
	past := time.Now().Add(-time.Hour)
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|2", ExpiresAt: past}); err != nil {
		t.Fatal(err)
	}
	rep, err := r.TidyRecords(timeout(t), "replica-a", time.Minute)
	if err != nil || !rep.Ran || rep.Deleted != 1 || rep.Shards != 256 {
		t.Fatalf("first pass: %+v, %v; want it ran over 256 shards and deleted 1", rep, err)
	}
	if n, _ := r.Client().Exists(timeout(t), store.PendingIndexKey("auth0|2")).Result(); n != 0 {
		t.Errorf("the deleted record's pending index entry is left")
	}
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|3", ExpiresAt: past}); err != nil {
		t.Fatal(err)
	}
	rep, err = r.TidyRecords(timeout(t), "replica-b", time.Minute)
	if err != nil || rep.Ran || rep.Deleted != 0 {
		t.Errorf("second pass within the lease: %+v, %v; want skipped", rep, err)
	}
	if _, err := r.Get(timeout(t), "auth0|3"); err != nil {
		t.Errorf("record put after the pass: %v; want kept until the next pass", err)
	}
	if _, err := r.TidyRecords(timeout(t), "", time.Minute); err == nil {
		t.Error("tidy with no owner: nil error, want one")
	}
}

// TestTidyRecordsJudgesTheRecordAsItIs: a record provisioned again after it
// expired is kept; the tidy pass reads each record when it deletes.
func TestTidyRecordsJudgesTheRecordAsItIs(t *testing.T) {
	conform(t, testTidyRecordsJudgesTheRecordAsItIs)
}

func testTidyRecordsJudgesTheRecordAsItIs(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Minute))
	now := time.Now()
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|1", ExpiresAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|1", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	wantEndOfLife(t, r, "auth0|1", now.Add(time.Hour+time.Minute).Truncate(time.Millisecond))
}
