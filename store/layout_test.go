package store_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// putLongRecord writes a record exactly as the release before the compact
// layout did (its lua/put.lua): every field under its long name, empty ones
// as empty strings, the email index key naming the user, both expiring with
// the record, and the index entry.
func putLongRecord(t *testing.T, r *store.Redis, userID, email, status, holder string, provisioned, expires, keyExpiry time.Time) {
	t.Helper()
	c, ctx := r.Client(), timeout(t)
	key := store.OldRecordKey(userID)
	exp := "0"
	if !expires.IsZero() {
		exp = msString(expires)
	}
	if err := c.HSet(ctx, key,
		"user_id", userID, "email", email, "connection", "Username-Password-Authentication",
		"provisioned_at", msString(provisioned), "status", status, "outcome", "",
		"holder", holder, "created_at", "1000", "updated_at", msString(provisioned),
		"expires_at", exp).Err(); err != nil {
		t.Fatalf("hset: %v", err)
	}
	if err := c.Set(ctx, store.EmailKey(email), userID, 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if !keyExpiry.IsZero() {
		for _, k := range []string{key, store.EmailKey(email)} {
			if err := c.PExpireAt(ctx, k, keyExpiry).Err(); err != nil {
				t.Fatalf("pexpireat: %v", err)
			}
		}
	}
	if err := c.ZAdd(ctx, "mp:{mp}:pending-index", zmember(float64(provisioned.UnixMilli()), store.EncodeID(userID))).Err(); err != nil {
		t.Fatalf("zadd: %v", err)
	}
}

func msString(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// TestLongLayoutRecords: records written by the release before the compact
// layout keep working through every call, and a script that changes one
// rewrites it compact without changing what it says.
func TestLongLayoutRecords(t *testing.T) { conform(t, testLongLayoutRecords) }

func testLongLayoutRecords(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	ctx := timeout(t)
	now := time.Now().Truncate(time.Millisecond).UTC()
	keyExpiry := now.Add(48 * time.Hour)
	putLongRecord(t, r, "auth0|old", "old@example.com", store.StatusPending, "", now.Add(-time.Minute), now.Add(24*time.Hour), keyExpiry)
	putLongRecord(t, r, "auth0|held", "held@example.com", store.StatusVerifying, "msg_other", now.Add(-2*time.Minute), now.Add(24*time.Hour), keyExpiry)
	putLongRecord(t, r, "auth0|lapsed", "lapsed@example.com", store.StatusPending, "", now.Add(-3*time.Minute), now.Add(-time.Second), keyExpiry)
	putLongRecord(t, r, "auth0|done", "done@example.com", store.StatusVerified, "", now.Add(-4*time.Minute), time.Time{}, keyExpiry)

	// Reads.
	got, err := r.Get(ctx, "auth0|old")
	if err != nil || got.UserID != "auth0|old" || got.Email != "old@example.com" || got.Status != store.StatusPending ||
		got.Connection != "Username-Password-Authentication" || got.CreatedAt.UnixMilli() != 1000 || !got.ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if got, err := r.Get(ctx, "auth0|lapsed"); err != nil || got.Status != store.StatusExpired {
		t.Errorf("get lapsed: %+v, %v; want expired", got, err)
	}
	if got, err := r.FindByEmail(ctx, "OLD@example.com"); err != nil || got.UserID != "auth0|old" {
		t.Errorf("find by email through the old key: %+v, %v", got, err)
	}
	list, _, err := r.ListPending(ctx, "", 10)
	if err != nil || len(list) != 2 || list[0].UserID != "auth0|old" || list[1].UserID != "auth0|held" {
		t.Errorf("list: %+v, %v; want old then held", list, err)
	}
	longest, err := r.LongestWaiting(ctx, 10)
	if err != nil || len(longest) != 2 || longest[0].UserID != "auth0|held" {
		t.Errorf("longest waiting: %+v, %v; want held then old", longest, err)
	}
	recs, errs := r.GetMany(ctx, []string{"auth0|done", "auth0|none"})
	if errs[0] != nil || recs[0].Status != store.StatusVerified || recs[0].UserID != "auth0|done" || !errors.Is(errs[1], store.ErrNotFound) {
		t.Errorf("get many: %+v, %v", recs, errs)
	}

	// Ingest reads the long fields: pending and verifying take an event,
	// lapsed and verified do not.
	for user, want := range map[string]string{
		"auth0|old": store.IngestQueued, "auth0|held": store.IngestQueued,
		"auth0|lapsed": store.IngestNotPending, "auth0|done": store.IngestNotPending,
	} {
		res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "w-" + user, UserID: user, ReplayTTL: time.Minute, Payload: []byte(`{}`)})
		if err != nil || res.Status != want {
			t.Errorf("ingest for %s: %+v, %v; want %s", user, res, err, want)
		}
	}

	// Claim: another event's lock is as strict as before, an expired record
	// is refused, and a pending one is taken and moved to its packed field,
	// its key deleted.
	if _, ok, err := r.Claim(ctx, "auth0|held", "msg_mine"); ok || err != nil {
		t.Errorf("claim of a record held by another event: %v, %v; want refused", ok, err)
	}
	if rec, ok, err := r.Claim(ctx, "auth0|held", "msg_other"); !ok || err != nil || rec.Holder != "msg_other" {
		t.Errorf("claim by the holder: %+v, %v, %v; want held", rec, ok, err)
	}
	if _, ok, err := r.Claim(ctx, "auth0|lapsed", "msg_mine"); ok || err != nil {
		t.Errorf("claim of an expired record: %v, %v; want refused", ok, err)
	}
	if _, ok, err := r.Claim(ctx, "auth0|done", "msg_mine"); ok || err != nil {
		t.Errorf("claim of a verified record: %v, %v; want refused", ok, err)
	}
	rec, ok, err := r.Claim(ctx, "auth0|old", "msg_mine")
	if !ok || err != nil || rec.Status != store.StatusVerifying || rec.Holder != "msg_mine" || rec.Email != "old@example.com" ||
		rec.CreatedAt.UnixMilli() != 1000 || !rec.ExpiresAt.Equal(now.Add(24*time.Hour)) || rec.UserID != "auth0|old" {
		t.Fatalf("claim: %+v, %v, %v", rec, ok, err)
	}
	if n, err := r.Client().Exists(ctx, store.OldRecordKey("auth0|old")).Result(); err != nil || n != 0 {
		t.Errorf("claimed record's old key: %d, %v; want it deleted", n, err)
	}
	if got, err := r.Get(ctx, "auth0|old"); err != nil || got != rec {
		t.Errorf("claimed record read back: %+v, %v; want %+v", got, err, rec)
	}
	// From now on it ends as packed records do: the retention after its
	// expiry (the key's own expiry was the old release's retention).
	defer wantEndOfLife(t, r, "auth0|old", now.Add(25*time.Hour))

	// Deliveries on a long record: the audit entry names the user.
	putLongRecord(t, r, "auth0|mail", "mail@example.com", store.StatusPending, "", now, now.Add(time.Hour), keyExpiry)
	if ok, err := r.StartDelivery(ctx, "auth0|mail", "reset-email"); !ok || err != nil {
		t.Fatalf("start delivery: %v, %v", ok, err)
	}
	if ok, err := r.FinishDelivery(ctx, "auth0|mail", "reset-email", store.AuditByCLI); !ok || err != nil {
		t.Fatalf("finish delivery: %v, %v", ok, err)
	}
	if got, err := r.Get(ctx, "auth0|mail"); err != nil || got.Deliveries != 1 || got.Delivery != "reset-email" || !got.DeliveringAt.IsZero() || got.DeliveredAt.IsZero() {
		t.Errorf("after delivery: %+v, %v", got, err)
	}
	entries, err := r.Audit(ctx, "auth0|mail", 10)
	if err != nil || len(entries) != 1 || entries[0].UserID != "auth0|mail" || entries[0].Outcome != store.AuditDelivered {
		t.Errorf("audit: %+v, %v", entries, err)
	}

	// A dead letter releases its own lock on a long record, not another's.
	putLongRecord(t, r, "auth0|dl", "dl@example.com", store.StatusVerifying, "w-dl", now, now.Add(time.Hour), keyExpiry)
	enqueue(t, r, "auth0|dl", "w-dl")
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	jobs, err := r.Read(ctx, "c", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.UserID == "auth0|dl" {
			if err := r.DeadLetter(ctx, j, "boom"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, err := r.Get(ctx, "auth0|dl"); err != nil || got.Status != store.StatusPending || got.Holder != "" {
		t.Errorf("after dead letter: %+v, %v; want pending, unheld", got, err)
	}

	// Replacing a long record keeps its creation time; deleting one removes
	// its old email key.
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|lapsed", Email: "lapsed@example.com"}); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, "auth0|lapsed"); err != nil || got.CreatedAt.UnixMilli() != 1000 || got.Status != store.StatusPending {
		t.Errorf("replaced: %+v, %v; want created_at kept, pending", got, err)
	}
	if n, _ := r.Client().Exists(ctx, store.EmailKey("lapsed@example.com")).Result(); n != 0 {
		t.Errorf("the old email key of a replaced record is still there")
	}
	if existed, err := r.DeletePending(ctx, "auth0|done"); !existed || err != nil {
		t.Errorf("delete: %v, %v", existed, err)
	}
	if n, _ := r.Client().Exists(ctx, store.OldRecordKey("auth0|done"), store.EmailKey("done@example.com")).Result(); n != 0 {
		t.Errorf("%d keys of a deleted long record left", n)
	}
}

// TestLongLayoutFinish: Finish on a long record held by its job verifies it,
// and one held by another job is not closed.
func TestLongLayoutFinish(t *testing.T) { conform(t, testLongLayoutFinish) }

func testLongLayoutFinish(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	ctx := timeout(t)
	now := time.Now()
	putLongRecord(t, r, "auth0|a", "a@example.com", store.StatusVerifying, "wa", now, now.Add(time.Hour), time.Time{})
	putLongRecord(t, r, "auth0|b", "b@example.com", store.StatusVerifying, "someone-else", now, now.Add(time.Hour), time.Time{})
	enqueue(t, r, "auth0|a", "wa")
	enqueue(t, r, "auth0|b", "wb")
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	jobs, err := r.Read(ctx, "c", 10, 0)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("read: %d, %v", len(jobs), err)
	}
	for _, j := range jobs {
		out := store.Outcome{Code: store.OutcomeVerified, Close: true}
		if j.UserID == "auth0|b" {
			out = store.Outcome{Code: "already_verified", Close: true}
		}
		if err := r.Finish(ctx, j, out); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := r.Get(ctx, "auth0|a"); err != nil || got.Status != store.StatusVerified || got.Outcome != store.OutcomeVerified || got.Holder != "" {
		t.Errorf("a: %+v, %v; want verified", got, err)
	}
	if got, err := r.Get(ctx, "auth0|b"); err != nil || got.Status != store.StatusVerifying || got.Holder != "someone-else" {
		t.Errorf("b: %+v, %v; want still verifying under the other lock", got, err)
	}
	if got, err := r.Get(ctx, "auth0|a"); err == nil {
		wantEndOfLife(t, r, "auth0|a", got.UpdatedAt.Add(time.Hour))
	}
}

// TestCompactRecord: a record is written with what it says and nothing else,
// and the email index never hands one user's record to another's address.
func TestCompactRecord(t *testing.T) { conform(t, testCompactRecord) }

func testCompactRecord(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithPendingTTL(24*time.Hour))
	ctx := timeout(t)
	at := time.Now().Truncate(time.Millisecond).UTC()
	store.SetClock(r, func() time.Time { return at })
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|a", Email: "A@example.com", Connection: "db"}); err != nil {
		t.Fatal(err)
	}
	// Packed: status, provisioned_at (base 36), email, expires_at, then the
	// connection behind '='; nothing else.
	packed, err := r.Client().HGet(ctx, store.RecordShardKey("auth0|a"), "auth0|a").Result()
	b36 := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 36) }
	if want := "P\x1f" + b36(at) + "\x1fa@example.com\x1f" + b36(at.Add(24*time.Hour)) + "\x1f=db"; err != nil || packed != want {
		t.Fatalf("packed record %q, %v; want %q", packed, err, want)
	}
	if n, _ := r.Client().Exists(ctx, store.OldRecordKey("auth0|a")).Result(); n != 0 {
		t.Errorf("a record hash of the layouts before was written")
	}
	got, err := r.Get(ctx, "auth0|a")
	if err != nil || !got.CreatedAt.Equal(at) || !got.UpdatedAt.Equal(at) || got.UserID != "auth0|a" {
		t.Errorf("get: %+v, %v; want created and updated at %v", got, err, at)
	}

	// The default connection is implied, an empty one kept, through an
	// upgrade from the long layout too.
	for _, conn := range []string{"Username-Password-Authentication", ""} {
		if err := r.PutPending(ctx, store.Record{UserID: "auth0|c", Email: "c@example.com", Connection: conn}); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Get(ctx, "auth0|c"); err != nil || got.Connection != conn {
			t.Errorf("connection %q read back as %q, %v", conn, got.Connection, err)
		}
		if _, err := r.DeletePending(ctx, "auth0|c"); err != nil {
			t.Fatal(err)
		}
		putLongRecord(t, r, "auth0|c", "c@example.com", store.StatusPending, "", at, time.Time{}, time.Time{})
		if err := r.Client().HSet(ctx, store.OldRecordKey("auth0|c"), "connection", conn).Err(); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := r.Claim(ctx, "auth0|c", "w"); !ok || err != nil {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		if got, err := r.Get(ctx, "auth0|c"); err != nil || got.Connection != conn {
			t.Errorf("connection %q upgraded and read back as %q, %v", conn, got.Connection, err)
		}
		if _, err := r.DeletePending(ctx, "auth0|c"); err != nil {
			t.Fatal(err)
		}
	}

	// Another user's entry under a's fingerprint (a collision, or an entry
	// left from a replaced record) is not an answer for a's address.
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|b", Email: "b@example.com", Connection: "db"}); err != nil {
		t.Fatal(err)
	}
	key, field := store.EmailIndexEntry("a@example.com", at.Add(25*time.Hour))
	if err := r.Client().HSet(ctx, key, field, "auth0|b").Err(); err != nil {
		t.Fatal(err)
	}
	if rec, err := r.FindByEmail(ctx, "a@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("find by email after b took a's entry: %+v, %v; want ErrNotFound, never b", rec, err)
	}
	// a written again in a later week: found there, the stale entry ignored.
	at = at.Add(8 * 24 * time.Hour)
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|a", Email: "a@example.com", Connection: "db"}); err != nil {
		t.Fatal(err)
	}
	if rec, err := r.FindByEmail(ctx, "a@example.com"); err != nil || rec.UserID != "auth0|a" {
		t.Errorf("find by email: %+v, %v; want a", rec, err)
	}
	if ttl, err := r.Client().PExpireTime(ctx, key).Result(); err != nil || ttl <= 0 {
		t.Errorf("email index hash expiry %v, %v; want one", ttl, err)
	}
}

// TestFindByEmailOfSeveral: two records holding one address, in different weeks and
// layouts, give the one updated last; a record that moved to another address is
// no answer for its old one.
func TestFindByEmailOfSeveral(t *testing.T) { conform(t, testFindByEmailOfSeveral) }

func testFindByEmailOfSeveral(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithPendingTTL(24*time.Hour))
	ctx := timeout(t)
	at := time.Now().Truncate(time.Millisecond)
	clock := at
	store.SetClock(r, func() time.Time { return clock })
	putLongRecord(t, r, "auth0|old", "same@example.com", store.StatusPending, "", at.Add(-time.Hour), at.Add(time.Hour), time.Time{})
	if rec, err := r.FindByEmail(ctx, "same@example.com"); err != nil || rec.UserID != "auth0|old" {
		t.Fatalf("find: %+v, %v; want the old-layout record", rec, err)
	}
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|first", Email: "same@example.com"}); err != nil {
		t.Fatal(err)
	}
	clock = at.Add(8 * 24 * time.Hour) // another week's hash
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|second", Email: "same@example.com"}); err != nil {
		t.Fatal(err)
	}
	if rec, err := r.FindByEmail(ctx, "same@example.com"); err != nil || rec.UserID != "auth0|second" {
		t.Errorf("find: %+v, %v; want the record updated last", rec, err)
	}
	// second moves to another address: first (or old) answers for this one.
	clock = clock.Add(time.Minute)
	if err := r.PutPending(ctx, store.Record{UserID: "auth0|second", Email: "other@example.com"}); err != nil {
		t.Fatal(err)
	}
	rec, err := r.FindByEmail(ctx, "same@example.com")
	if err != nil || (rec.UserID != "auth0|first" && rec.UserID != "auth0|old") {
		t.Errorf("find after second moved: %+v, %v; want first or old", rec, err)
	}
	if rec, err := r.FindByEmail(ctx, "other@example.com"); err != nil || rec.UserID != "auth0|second" {
		t.Errorf("find the new address: %+v, %v", rec, err)
	}
}

// TestPendingIndexBothLayouts: records indexed in the one index of the layout
// before and in the shards list as one index, newest first across pages; a record
// written again moves to its shard, and the counts add both.
func TestPendingIndexBothLayouts(t *testing.T) { conform(t, testPendingIndexBothLayouts) }

func testPendingIndexBothLayouts(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	ctx := timeout(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var want []string // newest first
	for i := 9; i >= 0; i-- {
		at := base.Add(time.Duration(i/2) * time.Minute) // pairs share a score
		u := "auth0|u" + strconv.Itoa(i)
		if i%3 == 0 {
			putLongRecord(t, r, u, "u"+strconv.Itoa(i)+"@example.com", store.StatusPending, "", at, time.Time{}, time.Time{})
		} else {
			putPending(t, r, u, at)
		}
	}
	all, _, err := r.ListPending(ctx, "", 100)
	if err != nil || len(all) != 10 {
		t.Fatalf("list: %d, %v", len(all), err)
	}
	for i, rec := range all {
		if i > 0 && rec.ProvisionedAt.After(all[i-1].ProvisionedAt) {
			t.Errorf("%s listed after a record provisioned earlier", rec.UserID)
		}
		want = append(want, rec.UserID)
	}
	for _, limit := range []int{1, 2, 3} {
		if got := listPages(t, r, limit); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
	longest, err := r.LongestWaiting(ctx, 3)
	if err != nil || len(longest) != 3 || longest[0].UserID != want[9] || longest[2].UserID != want[7] {
		t.Errorf("longest waiting: %+v, %v; want the last three listed, reversed", longest, err)
	}
	if n, err := r.PendingCount(ctx); err != nil || n != 10 {
		t.Errorf("pending count %d, %v; want 10", n, err)
	}
	if oldest, ok, err := r.OldestPending(ctx); err != nil || !ok || !oldest.Equal(base) {
		t.Errorf("oldest %v, %v, %v; want %v", oldest, ok, err, base)
	}
	// Written again: out of the old index, into its shard, counted once.
	putPending(t, r, "auth0|u0", base)
	if n, _ := r.Client().ZCard(ctx, "mp:{mp}:pending-index").Result(); n != 3 {
		t.Errorf("old index holds %d, want 3", n)
	}
	if n, err := r.PendingCount(ctx); err != nil || n != 10 {
		t.Errorf("pending count %d, %v; want 10", n, err)
	}
	// Ended: out of both.
	finishUser(t, r, "auth0|u3", store.Outcome{Code: store.OutcomeVerified, Close: true})
	if n, err := r.PendingCount(ctx); err != nil || n != 9 {
		t.Errorf("pending count after a flip %d, %v; want 9", n, err)
	}
}

// putCompactRecord writes a record exactly as the release before packed
// records did (its lua/put.lua): a hash of its own with one-letter fields,
// nothing for what is empty or implied, and its entry in the one pending
// index of that release.
func putCompactRecord(t *testing.T, r *store.Redis, userID string, fields map[string]string, provisioned time.Time) {
	t.Helper()
	c, ctx := r.Client(), timeout(t)
	if err := c.HSet(ctx, store.OldRecordKey(userID), fields).Err(); err != nil {
		t.Fatalf("hset: %v", err)
	}
	if err := c.ZAdd(ctx, "mp:{mp}:pending-index", zmember(float64(provisioned.UnixMilli()), store.EncodeID(userID))).Err(); err != nil {
		t.Fatalf("zadd: %v", err)
	}
}

// TestCompactLayoutRecords: records of the compact hash layout keep working,
// and the first script that changes one moves it to its packed field with
// everything it said, the default connection still implied by no 'c' and an
// empty one still empty.
func TestCompactLayoutRecords(t *testing.T) { conform(t, testCompactLayoutRecords) }

func testCompactLayoutRecords(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	ctx := timeout(t)
	now := time.Now().Truncate(time.Millisecond).UTC()
	p, x := msString(now.Add(-time.Hour)), msString(now.Add(time.Hour))
	putCompactRecord(t, r, "auth0|def", map[string]string{"s": "pending", "e": "def@example.com", "p": p, "x": x, "a": "1000", "n": "2", "d": "reset-email"}, now.Add(-time.Hour))
	putCompactRecord(t, r, "auth0|any", map[string]string{"s": "pending", "e": "any@example.com", "c": "", "p": p}, now.Add(-2*time.Hour))
	putCompactRecord(t, r, "auth0|held", map[string]string{"s": "verifying", "h": "w-other", "p": p, "c": "db"}, now.Add(-3*time.Hour))
	putCompactRecord(t, r, "auth0|done", map[string]string{"s": "verified", "o": "verified", "p": p}, now.Add(-4*time.Hour))

	before := map[string]store.Record{}
	for _, u := range []string{"auth0|def", "auth0|any", "auth0|held", "auth0|done"} {
		rec, err := r.Get(ctx, u)
		if err != nil {
			t.Fatalf("get %s: %v", u, err)
		}
		before[u] = rec
	}
	if rec := before["auth0|def"]; rec.Connection != "Username-Password-Authentication" || rec.Deliveries != 2 || rec.CreatedAt.UnixMilli() != 1000 || rec.ExpiresAt.UnixMilli() != now.Add(time.Hour).UnixMilli() {
		t.Errorf("compact record read as %+v", rec)
	}
	if rec := before["auth0|any"]; rec.Connection != "" {
		t.Errorf("compact record with an empty connection read as %q", rec.Connection)
	}
	list, _, err := r.ListPending(ctx, "", 10)
	if err != nil || len(list) != 3 {
		t.Errorf("list: %d records, %v; want def, any, held", len(list), err)
	}
	for user, want := range map[string]string{"auth0|def": store.IngestQueued, "auth0|held": store.IngestQueued, "auth0|done": store.IngestNotPending} {
		if res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "w-" + user, UserID: user, ReplayTTL: time.Minute}); err != nil || res.Status != want {
			t.Errorf("ingest for %s: %+v, %v; want %s", user, res, err, want)
		}
	}
	if _, ok, err := r.Claim(ctx, "auth0|held", "w-mine"); ok || err != nil {
		t.Errorf("claim of a record another event holds: %v, %v; want refused", ok, err)
	}
	for _, u := range []string{"auth0|def", "auth0|any"} {
		rec, ok, err := r.Claim(ctx, u, "w-mine")
		if !ok || err != nil {
			t.Fatalf("claim %s: %v, %v", u, ok, err)
		}
		want := before[u]
		want.Status, want.Holder, want.UpdatedAt = store.StatusVerifying, "w-mine", rec.UpdatedAt
		if got, err := r.Get(ctx, u); err != nil || got != want || rec != want {
			t.Errorf("%s after claim: %+v (claim said %+v), %v; want %+v", u, got, rec, err, want)
		}
		if n, _ := r.Client().Exists(ctx, store.OldRecordKey(u)).Result(); n != 0 {
			t.Errorf("%s: the compact hash is left after the move", u)
		}
	}
}

// TestPackedRecordRoundTrip: whatever a record holds comes back as it was,
// including the separators the packing uses.
func TestPackedRecordRoundTrip(t *testing.T) { conform(t, testPackedRecordRoundTrip) }

func testPackedRecordRoundTrip(t *testing.T, b backend) {
	r := b.open(t)
	ctx := timeout(t)
	tests := []struct{ email, connection, holder string }{
		{"plain@example.com", "Username-Password-Authentication", "msg_1"},
		{"", "", "msg_2"},
		{"sep\x1farator@example.com", "=", "h\x1fol\x1bder"},
		{"esc\x1ba\x1bb@example.com", "con\x1bnection\x1f", "\x1b"},
		{"ünï@exämple.com", "=db", "w"},
	}
	for i, tc := range tests {
		user := fmt.Sprintf("auth0|rt%d\x1f", i)
		if err := r.PutPending(ctx, store.Record{UserID: user, Email: tc.email, Connection: tc.connection}); err != nil {
			t.Fatal(err)
		}
		rec, ok, err := r.Claim(ctx, user, tc.holder)
		if !ok || err != nil {
			t.Fatalf("claim %q: %v, %v", user, ok, err)
		}
		got, err := r.Get(ctx, user)
		if err != nil || got.Email != tc.email || got.Connection != tc.connection || got.Holder != tc.holder || got.UserID != user || got != rec {
			t.Errorf("%d: read back %+v (claim %+v), %v; want %q %q %q", i, got, rec, err, tc.email, tc.connection, tc.holder)
		}
	}
}
