package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
)

// Tests found missing by mutation testing of the packed record layout: each
// one fails with a small change to the code that the suite let through.

// TestDefaultConnectionSurvivesRewrites: a record on the default connection
// stays on it through every script that rewrites it, once its packed value
// holds fields after the connection's place (the delivery's). Read as the
// empty connection it would accept a login on any connection.
func TestDefaultConnectionSurvivesRewrites(t *testing.T) {
	conform(t, testDefaultConnectionSurvivesRewrites)
}

func testDefaultConnectionSurvivesRewrites(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	ctx := timeout(t)
	const def = "Username-Password-Authentication"
	for _, conn := range []string{def, "", "db"} {
		user := "auth0|conn-" + conn
		if err := r.PutPending(ctx, store.Record{UserID: user, Email: "c@example.com", Connection: conn}); err != nil {
			t.Fatal(err)
		}
		check := func(step string) {
			t.Helper()
			got, err := r.Get(ctx, user)
			if err != nil || got.Connection != conn {
				t.Errorf("connection %q after %s: %q, %v", conn, step, got.Connection, err)
			}
		}
		if ok, err := r.StartDelivery(ctx, user, "reset-email"); !ok || err != nil {
			t.Fatalf("start delivery: %v, %v", ok, err)
		}
		check("start delivery")
		if ok, err := r.FinishDelivery(ctx, user, "reset-email", "test"); !ok || err != nil {
			t.Fatalf("finish delivery: %v, %v", ok, err)
		}
		check("finish delivery")
		rec, ok, err := r.Claim(ctx, user, "w-"+conn)
		if !ok || err != nil || rec.Connection != conn {
			t.Errorf("claim of connection %q: %q, %v, %v", conn, rec.Connection, ok, err)
		}
		check("claim")
	}
}

// TestHashLayoutKeepsEmptyConnection: in the hash layout an empty connection
// (any) is written as an empty 'c', as the release before wrote it, never
// left out (which reads as the default connection).
func TestHashLayoutKeepsEmptyConnection(t *testing.T) { conform(t, testHashLayoutKeepsEmptyConnection) }

func testHashLayoutKeepsEmptyConnection(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutHash))
	ctx := timeout(t)
	const user = "auth0|any"
	if err := r.PutPending(ctx, store.Record{UserID: user, Email: "a@example.com", Connection: ""}); err != nil {
		t.Fatal(err)
	}
	h, err := r.Client().HGetAll(ctx, store.OldRecordKey(user)).Result()
	if c, ok := h["c"]; err != nil || !ok || c != "" {
		t.Errorf("hash %v, %v; want an empty c", h, err)
	}
	rec, ok, err := r.Claim(ctx, user, "w1")
	if !ok || err != nil || rec.Connection != "" {
		t.Errorf("claim: %+v, %v, %v; want the empty connection", rec, ok, err)
	}
	if got, err := r.Get(ctx, user); err != nil || got.Connection != "" {
		t.Errorf("get: %q, %v; want the empty connection", got.Connection, err)
	}
}

// TestPackedFieldWinsOverHash: should a record be both a packed field and a
// hash of a layout before (a replica of the release before wrote one beside
// it), every read takes the field: Get, the listing and the scripts agree on
// one record, never a status from one and a decision from the other.
func TestPackedFieldWinsOverHash(t *testing.T) { conform(t, testPackedFieldWinsOverHash) }

func testPackedFieldWinsOverHash(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	ctx := timeout(t)
	const user = "auth0|both"
	now := time.Now().Truncate(time.Millisecond)
	putPending(t, r, user, now)
	if err := r.Client().HSet(ctx, store.OldRecordKey(user), map[string]string{
		"s": "closed", "o": "user_not_found", "e": "other@example.com", "p": msString(now.Add(-time.Hour)),
	}).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, user); err != nil || got.Status != store.StatusPending || got.Email != "ada@example.com" {
		t.Errorf("get: %+v, %v; want the packed field's pending record", got, err)
	}
	if res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "w-both", UserID: user, ReplayTTL: time.Minute}); err != nil || res.Status != store.IngestQueued {
		t.Errorf("ingest: %+v, %v; want queued (the field is pending)", res, err)
	}
	rec, ok, err := r.Claim(ctx, user, "w-both")
	if !ok || err != nil || rec.Email != "ada@example.com" {
		t.Errorf("claim: %+v, %v, %v; want the field's record claimed", rec, ok, err)
	}
}

// TestHashReplicaPutMovesIndexEntry: a record a packed replica indexed in its
// shard and a hash replica provisions again is indexed once, where the
// release before lists: counted once, listed once.
func TestHashReplicaPutMovesIndexEntry(t *testing.T) { conform(t, testHashReplicaPutMovesIndexEntry) }

func testHashReplicaPutMovesIndexEntry(t *testing.T, b backend) {
	url := b.url(t)
	packed := openURL(t, url, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	hash := openURL(t, url, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutHash))
	ctx := timeout(t)
	const user = "auth0|moved"
	at := time.Now().Add(-time.Minute)
	putPending(t, packed, user, at)
	putPending(t, hash, user, at)
	c := hash.Client()
	if n, _ := c.ZCard(ctx, store.PendingIndexKey(user)).Result(); n != 0 {
		t.Errorf("shard index still holds the record")
	}
	if n, _ := c.ZCard(ctx, "mp:{mp}:pending-index").Result(); n != 1 {
		t.Errorf("index of the release before holds %d, want 1", n)
	}
	if n, err := packed.PendingCount(ctx); err != nil || n != 1 {
		t.Errorf("pending count %d, %v; want 1", n, err)
	}
	if recs, _, err := packed.ListPending(ctx, "", 10); err != nil || len(recs) != 1 {
		t.Errorf("list: %d records, %v; want 1", len(recs), err)
	}
}

// TestFinishUnindexesPackedRecord: a packed record that ends (verified or
// closed) leaves its shard of the pending index in the same script, so the
// counts and the oldest waiting time are right before any listing.
func TestFinishUnindexesPackedRecord(t *testing.T) { conform(t, testFinishUnindexesPackedRecord) }

func testFinishUnindexesPackedRecord(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	ctx := timeout(t)
	for _, o := range []store.Outcome{
		{Code: store.OutcomeVerified, Close: true},
		{Code: "user_not_found", Close: true},
	} {
		user := "auth0|end-" + o.Code
		putPending(t, r, user, time.Now().Add(-time.Hour))
		finishUser(t, r, user, o)
		if n, _ := r.Client().ZScore(ctx, store.PendingIndexKey(user), user).Result(); n != 0 {
			t.Errorf("%s: still in its index shard", o.Code)
		}
	}
	if n, err := r.PendingCount(ctx); err != nil || n != 0 {
		t.Errorf("pending count %d, %v; want 0", n, err)
	}
	if _, ok, err := r.OldestPending(ctx); ok || err != nil {
		t.Errorf("oldest pending: %v, %v; want none", ok, err)
	}
}

// layoutRace runs fn before the first EXISTS a client sends: between an auto
// replica's reading of the recorded layout and its own recording.
type layoutRace struct{ fn func() }

func (h *layoutRace) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *layoutRace) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *layoutRace) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "exists") && h.fn != nil {
			fn := h.fn
			h.fn = nil
			fn()
		}
		return next(ctx, cmd)
	}
}

// TestAutoLayoutNeverOverwritesAChoice: an auto replica deciding on an empty
// Redis while a replica told hash records its choice keeps that choice (SET
// NX): overwriting it with packed would hide records from the release before.
func TestAutoLayoutNeverOverwritesAChoice(t *testing.T) {
	conform(t, testAutoLayoutNeverOverwritesAChoice)
}

func testAutoLayoutNeverOverwritesAChoice(t *testing.T, b backend) {
	url := b.url(t)
	ctx := timeout(t)
	auto := openURL(t, url)
	explicit := openURL(t, url, store.WithRecordLayout(store.LayoutHash))
	auto.Client().AddHook(&layoutRace{fn: func() {
		if l, err := explicit.RecordLayout(ctx); err != nil || l != store.LayoutHash {
			t.Errorf("explicit hash replica: %s, %v", l, err)
		}
	}})
	if l, err := auto.RecordLayout(ctx); err != nil || l != store.LayoutHash {
		t.Errorf("auto replica: %s, %v; want the hash layout recorded meanwhile", l, err)
	}
	if got, _ := auto.Client().Get(ctx, "mp:{mp}:layout").Result(); got != store.LayoutHash {
		t.Errorf("recorded layout %q, want hash", got)
	}
}

// TestTidyLeaseExpires: the tidy lease ends after the lease asked for, so
// the next pass (on any replica) runs; a lease that never ended would stop
// every pass after the first and records past their retention would pile up.
func TestTidyLeaseExpires(t *testing.T) { conform(t, testTidyLeaseExpires) }

func testTidyLeaseExpires(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Minute))
	ctx := timeout(t)
	if rep, err := r.TidyRecords(ctx, "replica-a", time.Hour); err != nil || !rep.Ran {
		t.Fatalf("tidy: %+v, %v", rep, err)
	}
	d, err := r.Client().PTTL(ctx, "mp:{mp}:tidy").Result()
	if err != nil || d <= 0 || d > time.Hour {
		t.Errorf("tidy lease ttl %v, %v; want within (0, 1h]", d, err)
	}
}

// shardNumber is the shard of a record shard key.
func shardNumber(t *testing.T, key string) int {
	t.Helper()
	n, err := strconv.Atoi(key[strings.LastIndexByte(key, ':')+1:])
	if err != nil {
		t.Fatalf("shard of %s: %v", key, err)
	}
	return n
}

// TestTidyGoesOnPastAFailingShard: a shard the tidy pass cannot read (a key
// of the wrong type) is reported, and the shards after it are still tidied.
func TestTidyGoesOnPastAFailingShard(t *testing.T) { conform(t, testTidyGoesOnPastAFailingShard) }

func testTidyGoesOnPastAFailingShard(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Minute))
	ctx := timeout(t)
	user := "auth0|lapsed"
	for i := 0; shardNumber(t, store.RecordShardKey(user)) == 0; i++ {
		user = "auth0|lapsed" + strconv.Itoa(i)
	}
	if err := r.PutPending(ctx, store.Record{UserID: user, ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Client().Set(ctx, "mp:{mp}:records:0", "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := store.ClearTidyLease(ctx, r); err != nil {
		t.Fatal(err)
	}
	rep, err := r.TidyRecords(ctx, "test", time.Minute)
	if err == nil {
		t.Error("tidy with a broken shard: nil error, want it reported")
	}
	if rep.Deleted != 1 || rep.Shards != 255 {
		t.Errorf("tidy with a broken shard: %+v; want the other 255 shards tidied, 1 record deleted", rep)
	}
}

// TestTidyPastDamagedTime: a packed value whose time is not base 36 reads as
// without it, in Lua as in Go: it neither fails the tidy pass of its shard
// (whose other records would never be deleted) nor the scripts of its user.
func TestTidyPastDamagedTime(t *testing.T) { conform(t, testTidyPastDamagedTime) }

func testTidyPastDamagedTime(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(time.Minute))
	ctx := timeout(t)
	const user = "auth0|lapsed"
	if err := r.PutPending(ctx, store.Record{UserID: user, ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const damaged = "auth0|damaged"
	// Same shard as user, so one script reads both.
	if err := r.Client().HSet(ctx, store.RecordShardKey(user), damaged, "P\x1f!!\x1f\x1f#$").Err(); err != nil {
		t.Fatal(err)
	}
	if rep := tidyAt(t, r, time.Now()); rep.Deleted != 1 {
		t.Errorf("tidy: %+v; want the lapsed record deleted", rep)
	}
	if _, err := r.Get(ctx, user); err == nil {
		t.Error("lapsed record kept")
	}
}

// TestCreatePendingSeesEveryLayout: provisioning's CreatePending never writes
// over a record in a layout before packed fields (a hash of its own, long or
// compact, or one a hash-layout replica wrote): that record may have been
// delivered to, or be verifying right now.
func TestCreatePendingSeesEveryLayout(t *testing.T) { conform(t, testCreatePendingSeesEveryLayout) }

func testCreatePendingSeesEveryLayout(t *testing.T, b backend) {
	url := b.url(t)
	r := openURL(t, url, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutPacked))
	hash := openURL(t, url, store.WithRetention(time.Hour), store.WithRecordLayout(store.LayoutHash))
	ctx := timeout(t)
	now := time.Now().Truncate(time.Millisecond).UTC()
	putLongRecord(t, r, "auth0|long", "long@example.com", store.StatusVerifying, "w-long", now.Add(-time.Hour), time.Time{}, time.Time{})
	putCompactRecord(t, r, "auth0|compact", map[string]string{"s": "pending", "e": "compact@example.com", "p": msString(now), "n": "1", "d": "reset-email"}, now)
	if err := hash.PutPending(ctx, store.Record{UserID: "auth0|hash", Email: "hash@example.com"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := hash.StartDelivery(ctx, "auth0|hash", "ticket"); !ok || err != nil {
		t.Fatalf("start delivery: %v, %v", ok, err)
	}
	for _, user := range []string{"auth0|long", "auth0|compact", "auth0|hash"} {
		before, err := r.Get(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := r.CreatePending(ctx, store.Record{UserID: user, Email: "new@example.com"})
		if ok || err != nil {
			t.Errorf("%s: create over a record of a layout before: %v, %v; want refused", user, ok, err)
		}
		if got, err := r.Get(ctx, user); err != nil || got != before {
			t.Errorf("%s: record after a refused create %+v, %v; want %+v", user, got, err, before)
		}
	}
}

// TestHashLayoutKeepsForever: with no retention (keep forever) a record
// written in the hash layout has no expiry, pending or ended; one at its
// expiry or its finish time would vanish at once.
func TestHashLayoutKeepsForever(t *testing.T) { conform(t, testHashLayoutKeepsForever) }

func testHashLayoutKeepsForever(t *testing.T, b backend) {
	r := b.open(t, store.WithRetention(0), store.WithPendingTTL(time.Hour), store.WithRecordLayout(store.LayoutHash))
	ctx := timeout(t)
	const user = "auth0|forever"
	ttl := func(step string) {
		t.Helper()
		if d, err := r.Client().PTTL(ctx, store.OldRecordKey(user)).Result(); err != nil || d != -time.Nanosecond {
			t.Errorf("%s: record key ttl %v, %v; want none", step, d, err)
		}
	}
	putPending(t, r, user, time.Now())
	ttl("put")
	finishUser(t, r, user, store.Outcome{Code: store.OutcomeVerified, Close: true})
	ttl("finish")
	if got, err := r.Get(ctx, user); err != nil || got.Status != store.StatusVerified {
		t.Errorf("finished record: %+v, %v; want kept, verified", got, err)
	}
}

// TestEnsureGroupSettlesLayoutFirst: a replica whose first call on an empty
// Redis creates the job stream records the packed layout before it does, so
// neither it nor any later auto replica takes its own stream for an earlier
// release's and writes the hash layout for good.
func TestEnsureGroupSettlesLayoutFirst(t *testing.T) { conform(t, testEnsureGroupSettlesLayoutFirst) }

func testEnsureGroupSettlesLayoutFirst(t *testing.T, b backend) {
	url := b.url(t)
	ctx := timeout(t)
	first := openURL(t, url)
	if err := first.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	for i, r := range []*store.Redis{first, openURL(t, url)} {
		if l, err := r.RecordLayout(ctx); err != nil || l != store.LayoutPacked {
			t.Errorf("replica %d after the stream was created: %s, %v; want packed", i, l, err)
		}
	}
}

// TestHashLayoutEndOfLife: in the hash layout a record's key expires where
// the tidy pass would delete its packed field: a pending record without an
// expiry never, one with the retention after its expiry, a verified or a
// closed one the retention after it ended.
func TestHashLayoutEndOfLife(t *testing.T) { conform(t, testHashLayoutEndOfLife) }

func testHashLayoutEndOfLife(t *testing.T, b backend) {
	const retention = time.Hour
	r := b.open(t, store.WithRetention(retention), store.WithRecordLayout(store.LayoutHash))
	ctx := timeout(t)
	now := time.Now().Truncate(time.Millisecond)
	tests := []struct {
		name    string
		expires time.Duration // from now; 0: never
		finish  string        // "", verify, close
	}{
		{"pending without expiry", 0, ""},
		{"pending with expiry", 10 * time.Minute, ""},
		{"verified", 10 * time.Minute, "verify"},
		{"closed", 10 * time.Minute, "close"},
		{"closed without expiry", 0, "close"},
	}
	for i, tc := range tests {
		user := "auth0|eol" + strconv.Itoa(i)
		rec := store.Record{UserID: user, Email: "e@example.com", ProvisionedAt: now.Add(-time.Hour)}
		if tc.expires != 0 {
			rec.ExpiresAt = now.Add(tc.expires)
		}
		if err := r.PutPending(ctx, rec); err != nil {
			t.Fatal(err)
		}
		var want time.Time
		if tc.expires != 0 {
			want = rec.ExpiresAt.Add(retention)
		}
		switch tc.finish {
		case "verify":
			finishUser(t, r, user, store.Outcome{Code: store.OutcomeVerified, Close: true})
		case "close":
			finishUser(t, r, user, store.Outcome{Code: "user_not_found", Close: true})
		}
		if tc.finish != "" {
			got, err := r.Get(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			want = got.UpdatedAt.Add(retention)
		}
		d, err := r.Client().PExpireTime(ctx, store.OldRecordKey(user)).Result()
		switch {
		case err != nil:
			t.Fatal(err)
		case want.IsZero() && d >= 0:
			t.Errorf("%s: key expires at %v, want never", tc.name, time.UnixMilli(d.Milliseconds()))
		case !want.IsZero() && d.Milliseconds() != want.UnixMilli():
			t.Errorf("%s: key expires at %v (%v), want %v", tc.name, time.UnixMilli(d.Milliseconds()), d, want)
		}
	}
}
