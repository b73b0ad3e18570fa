package store_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestPutGetDeleteOddUserIDs(t *testing.T) { conform(t, testPutGetDeleteOddUserIDs) }

func testPutGetDeleteOddUserIDs(t *testing.T, b backend) {
	r := b.open(t)
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for _, tc := range oddIDs {
		putPending(t, r, tc.id, at)
	}
	for _, tc := range oddIDs {
		got, err := r.Get(timeout(t), tc.id)
		if err != nil {
			t.Fatalf("%s: get: %v", tc.name, err)
		}
		want := store.Record{
			UserID: tc.id, Email: "ada@example.com", Connection: "Username-Password-Authentication",
			ProvisionedAt: at, Status: store.StatusPending,
		}
		if got.UserID != want.UserID || got.Email != want.Email || got.Connection != want.Connection ||
			!got.ProvisionedAt.Equal(want.ProvisionedAt) || got.Status != want.Status {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, want)
		}
		if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
			t.Errorf("%s: created %v updated %v, want both set", tc.name, got.CreatedAt, got.UpdatedAt)
		}
	}

	// No id escaped its encoding: every key is one of the documented shapes.
	keys := allKeys(t, r)
	shape := regexp.MustCompile(`^mp:\{mp\}:(records:[0-9]+|emails:[0-9]+:[0-9]+|email-weeks|waiting:[0-9]+|layout)$`)
	for _, k := range keys {
		if !shape.MatchString(k) {
			t.Errorf("key %q does not have a documented shape", short(k))
		}
	}
	// Every record has the same address: one email index hash (its field names
	// the last one written), the list of weeks and the layout; a record shard
	// and its index shard for each shard the users fall in.
	var records, waiting int
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "mp:{mp}:records:"):
			records++
		case strings.HasPrefix(k, "mp:{mp}:waiting:"):
			waiting++
		}
	}
	if records < 1 || records > len(oddIDs) || waiting != records || len(keys) != records+waiting+3 {
		t.Errorf("%d keys (%d record shards, %d index shards), want as many of each, 1 email index hash, the email weeks and the layout", len(keys), records, waiting)
	}

	for _, tc := range oddIDs {
		existed, err := r.DeletePending(timeout(t), tc.id)
		if err != nil || !existed {
			t.Errorf("%s: delete: %v, %v; want true, nil", tc.name, existed, err)
		}
		if _, err := r.Get(timeout(t), tc.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: get after delete: %v, want ErrNotFound", tc.name, err)
		}
		existed, err = r.DeletePending(timeout(t), tc.id)
		if err != nil || existed {
			t.Errorf("%s: second delete: %v, %v; want false, nil", tc.name, existed, err)
		}
	}
	// The email index entries went with their records (the emptied hash with
	// them); the list of weeks stays, one small key that forgets a week once it
	// has passed.
	keys = allKeys(t, r)
	slices.Sort(keys)
	if len(keys) != 2 || keys[0] != "mp:{mp}:email-weeks" || keys[1] != "mp:{mp}:layout" {
		t.Errorf("keys %q left after deleting every record, want only the email weeks and the layout", keys)
	}
}

func TestPutPendingReplacesButKeepsCreatedAt(t *testing.T) {
	conform(t, testPutPendingReplacesButKeepsCreatedAt)
}

func testPutPendingReplacesButKeepsCreatedAt(t *testing.T, b backend) {
	r := b.open(t)
	// Backdate the creation so a replacement in the same millisecond
	// cannot pass by accident.
	store.SetClock(r, func() time.Time { return time.UnixMilli(1000) })
	putPending(t, r, "auth0|1", time.Now().Add(-time.Hour))
	store.SetClock(r, time.Now)
	first, err := r.Get(timeout(t), "auth0|1")
	if err != nil || first.CreatedAt.UnixMilli() != 1000 {
		t.Fatalf("get: created %v, %v", first.CreatedAt, err)
	}
	if _, ok, err := r.Claim(timeout(t), "auth0|1", "msg_1"); !ok || err != nil {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	later := time.Now().Truncate(time.Millisecond)
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|1", Email: "new@example.com", ProvisionedAt: later}); err != nil {
		t.Fatalf("replace: %v", err)
	}
	got, err := r.Get(timeout(t), "auth0|1")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("created_at %v, want it kept at %v", got.CreatedAt, first.CreatedAt)
	}
	if got.Email != "new@example.com" || !got.ProvisionedAt.Equal(later) || got.Status != store.StatusPending || got.Holder != "" {
		t.Errorf("replaced record %+v, want new email and time, pending, unclaimed", got)
	}
}

func TestPutPendingValidates(t *testing.T) { conform(t, testPutPendingValidates) }

func testPutPendingValidates(t *testing.T, b backend) {
	r := b.open(t)
	if err := r.PutPending(timeout(t), store.Record{Email: "a@example.com"}); err == nil {
		t.Fatalf("put with empty user id: nil error, want one")
	}
}

func TestPendingExpiry(t *testing.T) { conform(t, testPendingExpiry) }

func testPendingExpiry(t *testing.T, b backend) {
	tests := []struct {
		name       string
		opts       []store.Option
		expiresAt  time.Time
		wantStatus string
		wantTTL    bool // the record itself is deleted later
	}{
		{"no ttl", nil, time.Time{}, store.StatusPending, false},
		{"ttl from option, not yet", []store.Option{store.WithPendingTTL(time.Hour)}, time.Time{}, store.StatusPending, true},
		{"explicit expiry passed", nil, time.Now().Add(-time.Minute), store.StatusExpired, true},
		{"expired, retention forever", []store.Option{store.WithRetention(0)}, time.Now().Add(-time.Minute), store.StatusExpired, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.open(t, tc.opts...)
			rec := store.Record{UserID: "auth0|1", Email: "a@example.com", ExpiresAt: tc.expiresAt}
			if err := r.PutPending(timeout(t), rec); err != nil {
				t.Fatalf("put: %v", err)
			}
			got, err := r.Get(timeout(t), "auth0|1")
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if got.Status != tc.wantStatus {
				t.Errorf("%s: status %q, want %q", tc.name, got.Status, tc.wantStatus)
			}
			// The record is kept the retention (30 days by default) past its
			// expiry, then tidied away; with no expiry or no retention, never.
			var end time.Time
			if tc.wantTTL {
				end = got.ExpiresAt.Add(30 * 24 * time.Hour)
			}
			defer wantEndOfLife(t, r, "auth0|1", end)
			if tc.wantStatus != store.StatusExpired {
				return
			}
			// An expired record takes no events, no claims and is not listed.
			res, err := r.Ingest(timeout(t), store.IngestRequest{WebhookID: "m", UserID: "auth0|1", ReplayTTL: time.Minute})
			if err != nil || res.Status != store.IngestNotPending {
				t.Errorf("%s: ingest %+v, %v; want not_pending", tc.name, res, err)
			}
			if _, ok, err := r.Claim(timeout(t), "auth0|1", "m"); ok || err != nil {
				t.Errorf("%s: claim %v, %v; want false, nil", tc.name, ok, err)
			}
			if recs, _, err := r.ListPending(timeout(t), "", 10); err != nil || len(recs) != 0 {
				t.Errorf("%s: list %d records, %v; want none", tc.name, len(recs), err)
			}
		})
	}
}

// TestPutPendingEmailForm checks that a record keeps its email in the one comparison
// form: ASCII case and ASCII whitespace go, every other byte stays.
func TestPutPendingEmailForm(t *testing.T) { conform(t, testPutPendingEmailForm) }

func testPutPendingEmailForm(t *testing.T, b backend) {
	r := b.open(t)
	tests := []struct{ name, in, want string }{
		{"already normal", "kate@example.com", "kate@example.com"},
		{"ASCII case and spaces", "  Kate@Example.COM\t", "kate@example.com"},
		{"Kelvin sign kept", "\u212Aate@Example.com", "\u212Aate@example.com"},
		{"no-break space kept", " kate@example.com\u00a0 ", "kate@example.com\u00a0"},
		{"accented capital kept", "\u00c9LODIE@example.fr", "\u00c9lodie@example.fr"},
	}
	for i, tc := range tests {
		id := fmt.Sprintf("auth0|email-%d", i)
		if err := r.PutPending(timeout(t), store.Record{UserID: id, Email: tc.in}); err != nil {
			t.Fatalf("%s: put: %v", tc.name, err)
		}
		got, err := r.Get(timeout(t), id)
		if err != nil {
			t.Fatalf("%s: get: %v", tc.name, err)
		}
		if got.Email != tc.want {
			t.Errorf("%s: stored %q, want %q", tc.name, got.Email, tc.want)
		}
	}
}
