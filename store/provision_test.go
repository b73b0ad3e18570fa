package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestFindByEmailAndDelivery(t *testing.T) { conform(t, testFindByEmailAndDelivery) }

func testFindByEmailAndDelivery(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|a", Email: " Ada@Example.com", Connection: "db"}); err != nil {
		t.Fatal(err)
	}
	rec, err := r.FindByEmail(ctx, "ada@EXAMPLE.com ")
	if err != nil || rec.UserID != "auth0|a" || rec.Deliveries != 0 || !rec.DeliveringAt.IsZero() {
		t.Fatalf("find: %+v, %v; want auth0|a, never delivered", rec, err)
	}
	if _, err := r.FindByEmail(ctx, "ada\u212a@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("find with a look-alike address: %v, want ErrNotFound", err)
	}

	if ok, err := r.StartDelivery(ctx, "auth0|a", "reset-email"); !ok || err != nil {
		t.Fatalf("start delivery: %v %v", ok, err)
	}
	if rec, _ := r.Get(ctx, "auth0|a"); rec.DeliveringAt.IsZero() || rec.Deliveries != 0 {
		t.Errorf("mid-send record %+v: want delivering_at set and no delivery counted", rec)
	}
	for range 2 {
		if ok, err := r.FinishDelivery(ctx, "auth0|a", "reset-email", store.AuditByCLI); !ok || err != nil {
			t.Fatalf("finish delivery: %v %v", ok, err)
		}
	}
	rec, _ = r.Get(ctx, "auth0|a")
	if rec.Deliveries != 2 || rec.Delivery != "reset-email" || rec.DeliveredAt.IsZero() || !rec.DeliveringAt.IsZero() {
		t.Errorf("record %+v: want 2 reset-email deliveries, delivering_at cleared", rec)
	}
	entries, err := r.Audit(ctx, "auth0|a", 10)
	if err != nil || len(entries) != 2 || entries[0].Outcome != store.AuditDelivered || entries[0].By != store.AuditByCLI || entries[0].Detail != "reset-email #2" {
		t.Errorf("audit %+v, %v; want two delivered entries by cli, the newest #2", entries, err)
	}

	// No delivery to a record that is no longer waiting.
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|b", Email: "bo@example.com"}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, r, "auth0|b", "w1")
	finishUser(t, r, "auth0|b", store.Outcome{Code: "verified", Close: true})
	if ok, err := r.StartDelivery(ctx, "auth0|b", "reset-email"); ok || err != nil {
		t.Errorf("start delivery on a verified record: %v %v, want false", ok, err)
	}

	// Deleting the record drops its address from the index.
	if _, err := r.DeletePending(ctx, "auth0|a"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.FindByEmail(ctx, "ada@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("find after delete: %v, want ErrNotFound", err)
	}
}

func TestNote(t *testing.T) { conform(t, testNote) }

func testNote(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour))
	ctx := timeout(t)
	if err := r.Note(ctx, "auth0|a", store.AuditRegistered, store.AuditByAdminAPI, "connection db"); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"auth0|a", ""} {
		entries, err := r.Audit(ctx, user, 10)
		if err != nil || len(entries) != 1 || entries[0].Outcome != store.AuditRegistered || entries[0].By != store.AuditByAdminAPI ||
			entries[0].UserID != "auth0|a" || entries[0].Detail != "connection db" {
			t.Errorf("audit of %q: %+v, %v; want the registration by the admin API", user, entries, err)
		}
	}
}

func TestEmailIndexFollowsTheRecords(t *testing.T) { conform(t, testEmailIndexFollowsTheRecords) }

func testEmailIndexFollowsTheRecords(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	put := func(id, email string) {
		t.Helper()
		if err := r.PutPending(ctx, store.Record{UserID: id, Email: email}); err != nil {
			t.Fatal(err)
		}
	}
	// A record given another address no longer answers for the old one.
	put("auth0|1", "a@example.com")
	put("auth0|1", "b@example.com")
	if rec, err := r.FindByEmail(ctx, "a@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old address: %+v, %v; want ErrNotFound", rec, err)
	}
	// Deleting a record whose address another user holds since leaves that user's entry.
	put("auth0|2", "b@example.com")
	if _, err := r.DeletePending(ctx, "auth0|1"); err != nil {
		t.Fatal(err)
	}
	if rec, err := r.FindByEmail(ctx, "b@example.com"); err != nil || rec.UserID != "auth0|2" {
		t.Errorf("after deleting the first holder: %+v, %v; want auth0|2", rec, err)
	}
}

func TestCreatePendingNeverWritesOver(t *testing.T) { conform(t, testCreatePendingNeverWritesOver) }

func testCreatePendingNeverWritesOver(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	if ok, err := r.CreatePending(ctx, store.Record{UserID: "auth0|1", Email: "a@example.com"}); !ok || err != nil {
		t.Fatalf("create: %v %v", ok, err)
	}
	if _, err := r.FinishDelivery(ctx, "auth0|1", "reset-email", store.AuditByCLI); err != nil {
		t.Fatal(err)
	}
	before, _ := r.Get(ctx, "auth0|1")
	if ok, err := r.CreatePending(ctx, store.Record{UserID: "auth0|1", Email: "a@example.com"}); ok || err != nil {
		t.Errorf("second create: %v %v; want false", ok, err)
	}
	after, _ := r.Get(ctx, "auth0|1")
	if after.Deliveries != 1 || !after.ProvisionedAt.Equal(before.ProvisionedAt) {
		t.Errorf("record after a second create %+v, want it untouched (1 delivery, provisioned at %v)", after, before.ProvisionedAt)
	}
}
