package store_test

import (
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// TestRecordLayoutChoice: a replica left to choose writes packed records on
// a Redis no earlier release used, the hash layout on one it did (its
// replicas may still run and read nothing else), and follows an operator's
// explicit choice, recorded in Redis, within a minute.
func TestRecordLayoutChoice(t *testing.T) { conform(t, testRecordLayoutChoice) }

func testRecordLayoutChoice(t *testing.T, b backend) {
	url := b.url(t)
	ctx := timeout(t)
	layout := func(r *store.Redis) string {
		t.Helper()
		l, err := r.RecordLayout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := openURL(t, url)
	if got := layout(first); got != store.LayoutPacked {
		t.Fatalf("auto on an empty Redis: %s, want packed", got)
	}
	c := first.Client()
	if got, _ := c.Get(ctx, "mp:{mp}:layout").Result(); got != store.LayoutPacked {
		t.Errorf("recorded layout %q, want packed", got)
	}
	// A later replica follows the record even once the job stream exists.
	if err := first.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := layout(openURL(t, url)); got != store.LayoutPacked {
		t.Errorf("second auto replica: %s, want packed", got)
	}

	// A Redis an earlier release used: its job stream, no recorded layout.
	if err := c.Del(ctx, "mp:{mp}:layout").Err(); err != nil {
		t.Fatal(err)
	}
	auto := openURL(t, url)
	if got := layout(auto); got != store.LayoutHash {
		t.Fatalf("auto beside an earlier release's data: %s, want hash", got)
	}
	if n, _ := c.Exists(ctx, "mp:{mp}:layout").Result(); n != 0 {
		t.Errorf("a guessed hash layout was recorded; only explicit choices and empty Redis are")
	}

	// The operator says packed on one replica: it is recorded, and the
	// auto replica takes it up once its minute is over.
	if got := layout(openURL(t, url, store.WithRecordLayout(store.LayoutPacked))); got != store.LayoutPacked {
		t.Fatalf("explicit packed: %s", got)
	}
	if got := layout(auto); got != store.LayoutHash {
		t.Errorf("auto replica within its minute: %s, want hash still", got)
	}
	store.SetClock(auto, func() time.Time { return time.Now().Add(2 * time.Minute) })
	if got := layout(auto); got != store.LayoutPacked {
		t.Errorf("auto replica after its minute: %s, want packed", got)
	}
	if _, err := store.Open(ctx, url, store.WithRecordLayout("fast")); err == nil {
		t.Error("open with an unknown layout: nil error, want one")
	}
}

// TestHashLayoutWrites: in the hash layout a record is written exactly as the
// release before wrote and read it, a compact hash of its own expiring at its
// end of life, in the one pending index it lists, so its replicas see every
// record during a rolling upgrade; and a packed record written meanwhile moves
// there at its next write.
func TestHashLayoutWrites(t *testing.T) { conform(t, testHashLayoutWrites) }

func testHashLayoutWrites(t *testing.T, b backend) {
	url := b.url(t)
	opts := []store.Option{store.WithRetention(time.Hour), store.WithPendingTTL(24 * time.Hour)}
	r := openURL(t, url, append(opts, store.WithRecordLayout(store.LayoutHash))...)
	packed := openURL(t, url, append(opts, store.WithRecordLayout(store.LayoutPacked))...)
	ctx := timeout(t)
	c := r.Client()
	at := time.Now().Truncate(time.Millisecond).UTC()
	store.SetClock(r, func() time.Time { return at })
	const user = "auth0|h"
	key := store.OldRecordKey(user)
	hash := func() map[string]string {
		t.Helper()
		h, err := c.HGetAll(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	expiry := func() time.Time {
		t.Helper()
		d, err := c.PExpireTime(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return time.UnixMilli(d.Milliseconds()).UTC()
	}
	wantHash := func(step string, want map[string]string, end time.Time) {
		t.Helper()
		h := hash()
		if len(h) != len(want) {
			t.Errorf("%s: hash %v, want %v", step, h, want)
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("%s: field %s = %q, want %q (hash %v)", step, k, h[k], v, h)
			}
		}
		if got := expiry(); !got.Equal(end) {
			t.Errorf("%s: key expires at %v, want %v", step, got, end)
		}
		if n, _ := c.HExists(ctx, store.RecordShardKey(user), user).Result(); n {
			t.Errorf("%s: a packed copy is left", step)
		}
	}

	if err := r.PutPending(ctx, store.Record{UserID: user, Email: "h@example.com", Connection: "db"}); err != nil {
		t.Fatal(err)
	}
	x := at.Add(24 * time.Hour)
	wantHash("put", map[string]string{"s": "pending", "e": "h@example.com", "c": "db", "p": msString(at), "x": msString(x)}, x.Add(time.Hour))
	if score, err := c.ZScore(ctx, "mp:{mp}:pending-index", store.EncodeID(user)).Result(); err != nil || score != float64(at.UnixMilli()) {
		t.Errorf("index of the release before: %v, %v; want the record at %d", score, err, at.UnixMilli())
	}
	if n, _ := c.Exists(ctx, store.PendingIndexKey(user)).Result(); n != 0 {
		t.Errorf("indexed in a shard too, which the release before does not read")
	}

	claimed := at.Add(time.Second)
	store.SetClock(r, func() time.Time { return claimed })
	enqueue(t, r, user, "w1")
	j := readOne(t, r, "c1")
	if _, ok, err := r.Claim(ctx, user, j.Owner()); !ok || err != nil {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	wantHash("claim", map[string]string{"s": "verifying", "h": j.Owner(), "u": msString(claimed), "e": "h@example.com", "c": "db", "p": msString(at), "x": msString(x)}, x.Add(time.Hour))

	finished := at.Add(2 * time.Second)
	store.SetClock(r, func() time.Time { return finished })
	if err := r.Finish(ctx, j, store.Outcome{Code: store.OutcomeVerified, Close: true}); err != nil {
		t.Fatal(err)
	}
	wantHash("finish", map[string]string{"s": "verified", "o": store.OutcomeVerified, "u": msString(finished), "e": "h@example.com", "c": "db", "p": msString(at), "x": msString(x)}, finished.Add(time.Hour))
	if n, _ := c.ZCard(ctx, "mp:{mp}:pending-index").Result(); n != 0 {
		t.Errorf("the finished record is still indexed")
	}

	// A record a packed replica wrote moves to the hash at the hash
	// replica's next write, and is indexed where the release before lists.
	const other = "auth0|p"
	if err := packed.PutPending(ctx, store.Record{UserID: other, Email: "p@example.com", ProvisionedAt: at}); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.StartDelivery(ctx, other, "reset-email"); !ok || err != nil {
		t.Fatalf("start delivery: %v, %v", ok, err)
	}
	h, _ := c.HGetAll(ctx, store.OldRecordKey(other)).Result()
	if h["s"] != store.StatusPending || h["g"] != msString(finished) || h["d"] != "reset-email" {
		t.Errorf("packed record after a hash write: %v", h)
	}
	if n, _ := c.HExists(ctx, store.RecordShardKey(other), other).Result(); n {
		t.Errorf("packed copy left after the hash write")
	}
	got, err := packed.Get(ctx, other)
	if err != nil || got.Delivery != "reset-email" || got.Status != store.StatusPending {
		t.Errorf("read back by the packed replica: %+v, %v", got, err)
	}
}
