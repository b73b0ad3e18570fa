package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestListPendingPagesNewestFirst(t *testing.T) { conform(t, testListPendingPagesNewestFirst) }

func testListPendingPagesNewestFirst(t *testing.T, b backend) {
	r := b.open(t)
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	// 25 users; groups of five share a provisioning time, so pages must
	// split ties correctly.
	for i := range 25 {
		id := fmt.Sprintf("auth0|user%02d", i)
		putPending(t, r, id, base.Add(time.Duration(i/5)*time.Minute))
	}
	// Ended and vanished records are not listed.
	putPending(t, r, "auth0|verified", base.Add(time.Hour))
	finishUser(t, r, "auth0|verified", store.Outcome{Code: "verified", Close: true})
	putPending(t, r, "auth0|gone", base.Add(2*time.Hour))
	if err := r.Client().HDel(timeout(t), store.RecordShardKey("auth0|gone"), "auth0|gone").Err(); err != nil {
		t.Fatalf("del: %v", err)
	}

	all, next, err := r.ListPending(timeout(t), "", 100)
	if err != nil || next != "" || len(all) != 25 {
		t.Fatalf("list all: %d records, next %q, %v; want 25, \"\", nil", len(all), next, err)
	}
	var want []string
	seen := map[string]bool{}
	for i, rec := range all {
		if i > 0 && rec.ProvisionedAt.After(all[i-1].ProvisionedAt) {
			t.Errorf("list all: %s provisioned %v after its predecessor, want newest first", rec.UserID, rec.ProvisionedAt)
		}
		if seen[rec.UserID] {
			t.Errorf("list all: %s twice", rec.UserID)
		}
		seen[rec.UserID] = true
		want = append(want, rec.UserID)
	}

	for _, limit := range []int{1, 3, 5, 7, 25} {
		if got := listPages(t, r, limit); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("limit %d: got %v, want %v", limit, got, want)
		}
	}

	// Listing dropped the index entries of ended and vanished records.
	n, err := r.PendingCount(timeout(t))
	if err != nil || n != 25 {
		t.Errorf("index holds %d (%v), want 25", n, err)
	}
}

func TestListPendingRejectsForeignCursor(t *testing.T) {
	conform(t, testListPendingRejectsForeignCursor)
}

func testListPendingRejectsForeignCursor(t *testing.T, b backend) {
	r := b.open(t)
	for _, c := range []string{"!!!", "bm90LWEtY3Vyc29y" /* "not-a-cursor" */} {
		if _, _, err := r.ListPending(timeout(t), c, 10); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
}

func TestListPendingIncludesVerifying(t *testing.T) { conform(t, testListPendingIncludesVerifying) }

func testListPendingIncludesVerifying(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	if _, ok, err := r.Claim(timeout(t), "auth0|1", "m"); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	recs, next, err := r.ListPending(timeout(t), "", 10)
	if err != nil || len(recs) != 1 || next != "" {
		t.Fatalf("list: %d records, next %q, %v; want 1, \"\", nil", len(recs), next, err)
	}
	if recs[0].Status != store.StatusVerifying || recs[0].Holder != "m" {
		t.Errorf("status %q claimed by %q, want verifying by m", recs[0].Status, recs[0].Holder)
	}
}

// TestLongestWaiting: the records provisioned earliest come first, and entries of
// records that no longer wait (expired, verified) are passed over, not counted.
func TestLongestWaiting(t *testing.T) {
	r := openStore(t)
	base := time.Now().Add(-24 * time.Hour).Truncate(time.Millisecond)
	for i := range 12 {
		putPending(t, r, "auth0|"+itoa(i), base.Add(time.Duration(i)*time.Hour))
	}
	// The oldest has expired; the second oldest was verified.
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|0", Email: "a@example.com", ProvisionedAt: base, ExpiresAt: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	finishUser(t, r, "auth0|1", store.Outcome{Code: store.OutcomeVerified, Close: true})

	tests := []struct {
		name  string
		n     int
		wantN int
	}{
		{"a few", 3, 3},
		{"more than wait", 50, 10},
		{"none", 0, 0},
	}
	for _, tc := range tests {
		recs, err := r.LongestWaiting(timeout(t), tc.n)
		if err != nil || len(recs) != tc.wantN {
			t.Fatalf("%s: %d records, %v; want %d", tc.name, len(recs), err, tc.wantN)
		}
		for i, rec := range recs {
			if want := "auth0|" + itoa(i+2); rec.UserID != want || !rec.ProvisionedAt.Equal(base.Add(time.Duration(i+2)*time.Hour)) {
				t.Errorf("%s: record %d is %s provisioned %v, want %s", tc.name, i, rec.UserID, rec.ProvisionedAt, want)
			}
		}
	}
}

// TestUnindexKeepsARecordPutAgain: the listing removes a stale entry only if
// its record is still not waiting when it does, so a record provisioned again
// between the listing's read and the removal stays indexed.
func TestUnindexKeepsARecordPutAgain(t *testing.T) { conform(t, testUnindexKeepsARecordPutAgain) }

func testUnindexKeepsARecordPutAgain(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	past := time.Now().Add(-time.Hour)
	for _, u := range []string{"auth0|again", "auth0|gone"} {
		if err := r.PutPending(ctx, store.Record{UserID: u, ExpiresAt: past}); err != nil {
			t.Fatal(err)
		}
	}
	// Both read stale; then auth0|again is provisioned again before the removal.
	stale := store.StaleEntries(r, "auth0|again", "auth0|gone")
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|again", ProvisionedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := store.Unindex(ctx, r, stale); err != nil {
		t.Fatal(err)
	}
	if n, err := r.PendingCount(ctx); err != nil || n != 1 {
		t.Errorf("pending count %d, %v; want 1: the record put again", n, err)
	}
	recs, _, err := r.ListPending(ctx, "", 10)
	if err != nil || len(recs) != 1 || recs[0].UserID != "auth0|again" {
		t.Errorf("list: %+v, %v; want auth0|again", recs, err)
	}
}

// listPages lists every waiting record page by page, limit a page, and returns
// the user ids in the order listed; more than 30 pages fails the test.
func listPages(t *testing.T, r *store.Redis, limit int) []string {
	t.Helper()
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 30 {
			t.Fatalf("limit %d: more than 30 pages", limit)
		}
		recs, next, err := r.ListPending(timeout(t), cursor, limit)
		if err != nil {
			t.Fatalf("limit %d: list: %v", limit, err)
		}
		if len(recs) > limit {
			t.Fatalf("limit %d: page of %d", limit, len(recs))
		}
		for _, rec := range recs {
			got = append(got, rec.UserID)
		}
		if next == "" {
			return got
		}
		cursor = next
	}
}
