package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// MemoryEnv turns on TestMemoryFootprint, the measurement behind the memory
// section of BENCHMARKS.md. It writes hundreds of thousands of keys into a
// redis-server of its own, so it does not run with the ordinary tests:
//
//	MAILPROOF_MEMORY=1 go test -count=1 -run TestMemoryFootprint -v ./store/
//
// MAILPROOF_MEMORY_USERS sets the number of users (default 10000),
// MAILPROOF_MEMORY_RATE the events per second the replay marks are sized for
// (default 1000), and MAILPROOF_MEMORY_CONFIG Redis parameters to set first
// ("zset-max-listpack-entries 512").
const memoryEnv = "MAILPROOF_MEMORY"

// memoryReplayTTL is the receiver's replay TTL with the default signature
// tolerance: twice 5 minutes plus a minute (server/routes.go).
const memoryReplayTTL = 11 * time.Minute

// TestMemoryFootprint measures what Redis holds per user and per event, from
// INFO memory's used_memory before and after: bytes per pending record,
// bytes per user of audit trail beyond the global stream (one entry, and a
// provisioned-delivered-verified life of three), and the replay marks kept
// at a steady event rate for the replay TTL.
func TestMemoryFootprint(t *testing.T) {
	if os.Getenv(memoryEnv) != "1" {
		t.Skipf("set %s=1 to measure Redis memory (see BENCHMARKS.md)", memoryEnv)
	}
	n := envInt(t, "MAILPROOF_MEMORY_USERS", 10_000)
	rate := envInt(t, "MAILPROOF_MEMORY_RATE", 1000)
	srv := redistest.Dedicated(t)
	r := openURL(t, srv.URL())
	c := r.Client()
	ctx := t.Context()
	info, _ := c.Info(ctx, "server").Result()
	t.Logf("redis %s, %d users, replay marks at %d events/s for %s", infoField(info, "redis_version"), n, rate, memoryReplayTTL)
	// MAILPROOF_MEMORY_CONFIG="name value ..." sets Redis parameters first,
	// to measure what an operator's redis.conf would change.
	if f := strings.Fields(os.Getenv("MAILPROOF_MEMORY_CONFIG")); len(f) > 0 {
		if len(f)%2 != 0 {
			t.Fatalf("MAILPROOF_MEMORY_CONFIG=%q: want name value pairs", f)
		}
		for i := 0; i < len(f); i += 2 {
			if err := c.ConfigSet(ctx, f[i], f[i+1]).Err(); err != nil {
				t.Fatalf("config set %s %s: %v", f[i], f[i+1], err)
			}
		}
	}
	cfg, _ := c.ConfigGet(ctx, "*-max-*-entries").Result()
	vals, _ := c.ConfigGet(ctx, "*-max-*-value").Result()
	t.Logf("config: %v %v", cfg, vals)

	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("auth0|6560c1f2e4b0%012x", 0xa1b2c3d4e5f6+i)
	}
	email := func(i int) string { return fmt.Sprintf("person%06d@example.com", i) }

	// Warm up first: the 16 connections parallel opens and the scripts Redis
	// caches hold several hundred kilobytes of used_memory that no number of
	// users changes (at 10,000 users they would add about 90 B to a record).
	// FLUSHALL keeps both.
	warm := store.NewIngester(r, store.DefaultMaxBatch)
	parallel(t, 1600, func(i int) error {
		u := fmt.Sprintf("warm|%d", i)
		if err := r.PutPending(ctx, store.Record{UserID: u, Email: email(i)}); err != nil {
			return err
		}
		if err := r.Note(ctx, u, store.AuditRegistered, store.AuditByCLI, ""); err != nil {
			return err
		}
		_, err := warm.Ingest(ctx, store.IngestRequest{WebhookID: "warm_" + strconv.Itoa(i), UserID: u, ReplayTTL: time.Minute, Payload: []byte(`{}`)})
		return err
	})
	warm.Close()

	// Pending records: everything PutPending writes.
	flushAll(t, c)
	before := usedMemory(t, c)
	parallel(t, n, func(i int) error {
		return r.PutPending(ctx, store.Record{UserID: users[i], Email: email(i), Connection: "Username-Password-Authentication"})
	})
	after := usedMemory(t, c)
	t.Logf("pending record: %d B per record (used_memory %d -> %d)", (after-before)/int64(n), before, after)
	// Where those bytes are: what deleting each part frees.
	for _, part := range []struct{ name, pattern string }{
		{"email index", "mp:{mp}:email*"}, // both layouts, and the list of weeks
		{"pending index", "mp:{mp}:waiting:*"},
		{"records", "mp:{mp}:records:*"},
	} {
		keys, before, after := dropKeys(t, c, part.pattern)
		t.Logf("  %s: %d B per record (%d keys)", part.name, (before-after)/int64(n), keys)
	}

	// The floor of one key per record: a string key with a name as long as
	// a record's, a one-byte value and an expiry.
	flushAll(t, c)
	before = usedMemory(t, c)
	parallel(t, n, func(i int) error {
		return c.Set(ctx, store.OldRecordKey(users[i]), "1", 30*24*time.Hour).Err()
	})
	after = usedMemory(t, c)
	t.Logf("  floor: one key with a record's name, a 1-byte value and a TTL: %d B", (after-before)/int64(n))

	// Audit, one entry per user: the trail's cost is what deleting the
	// per-user keys frees; the global stream is kept.
	flushAll(t, c)
	empty := usedMemory(t, c)
	parallel(t, n, func(i int) error {
		return r.Note(ctx, users[i], store.AuditRegistered, store.AuditByCLI, "")
	})
	freed, before, after := dropUserTrails(t, c)
	t.Logf("audit, 1 entry: %d B per user beyond the global stream (used_memory %d -> %d after deleting %d keys)", (before-after)/int64(n), before, after, freed)
	t.Logf("  the global stream: %d B per entry", (after-empty)/int64(n))

	// Audit, a whole life: provisioned, delivered, verified by a real job.
	flushAll(t, c)
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	parallel(t, n, func(i int) error {
		u := users[i]
		if err := r.PutPending(ctx, store.Record{UserID: u, Email: email(i), Connection: "Username-Password-Authentication"}); err != nil {
			return err
		}
		if err := r.Note(ctx, u, store.AuditProvisioned, store.AuditByCLI, "reset-email"); err != nil {
			return err
		}
		if _, err := r.StartDelivery(ctx, u, "reset-email"); err != nil {
			return err
		}
		if _, err := r.FinishDelivery(ctx, u, "reset-email", store.AuditByCLI); err != nil {
			return err
		}
		res, err := r.Ingest(ctx, store.IngestRequest{WebhookID: "msg_" + strconv.Itoa(i) + "_2b7c1e0f9a", UserID: u, ReplayTTL: memoryReplayTTL, Payload: []byte(`{}`)})
		if err != nil || res.Status != store.IngestQueued {
			return fmt.Errorf("ingest: %+v, %v", res, err)
		}
		return nil
	})
	for done := 0; done < n; {
		jobs, err := r.Read(ctx, "mem", 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if _, _, err := r.Claim(ctx, j.UserID, j.Owner()); err != nil {
				t.Fatal(err)
			}
			if err := r.Finish(ctx, j, store.Outcome{Code: store.OutcomeVerified, Close: true}); err != nil {
				t.Fatal(err)
			}
		}
		done += len(jobs)
	}
	if got, err := r.Audit(ctx, users[n-1], 10); err != nil || len(got) != 3 {
		t.Fatalf("trail of the last user: %d entries, %v; want 3", len(got), err)
	}
	freed, before, after = dropUserTrails(t, c)
	t.Logf("audit, 3 entries: %d B per user beyond the global stream (used_memory %d -> %d after deleting %d keys)", (before-after)/int64(n), before, after, freed)

	// Replay marks: rate events a second for the replay TTL plus one window
	// of the sets, the most marks kept at once at that rate, for users
	// without a record (the mark is all that is written). The store's clock
	// advances one event's share of a second per event.
	flushAll(t, c)
	marks := rate * int((memoryReplayTTL+store.ReplayWindow)/time.Second)
	start := time.Now()
	var sent atomic.Int64
	store.SetClock(r, func() time.Time { return start.Add(time.Duration(sent.Load()) * time.Second / time.Duration(rate)) })
	in := store.NewIngester(r, store.DefaultMaxBatch)
	defer in.Close()
	before = usedMemory(t, c)
	parallel(t, marks, func(i int) error {
		sent.Add(1)
		_, err := in.Ingest(ctx, store.IngestRequest{
			WebhookID: fmt.Sprintf("msg_2%026d", i), UserID: users[i%n],
			ReplayTTL: memoryReplayTTL, Payload: []byte(`{}`),
		})
		return err
	})
	after = usedMemory(t, c)
	t.Logf("replay marks: %d marks (%d/s for %s), %d B per mark, %.1f MB (used_memory %d -> %d)",
		marks, rate, memoryReplayTTL+store.ReplayWindow, (after-before)/int64(marks), float64(after-before)/1e6, before, after)
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// parallel runs f(0..n-1) on 16 goroutines, the first error failing the test.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func flushAll(t *testing.T, c redis.UniversalClient) {
	t.Helper()
	if err := c.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}

// usedMemory is INFO memory's used_memory: what the allocator holds for data.
func usedMemory(t *testing.T, c redis.UniversalClient) int64 {
	t.Helper()
	s, err := c.Info(t.Context(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(infoField(s, "used_memory"), 10, 64)
	if err != nil {
		t.Fatalf("used_memory in %q: %v", s, err)
	}
	return n
}

func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

// userTrailPatterns match the keys that hold per-user audit trails, in
// every layout the store reads.
var userTrailPatterns = []string{"mp:{mp}:audit:*", "mp:{mp}:trail:*"}

// dropUserTrails deletes the per-user trails and returns how many keys that
// was and used_memory before and after.
func dropUserTrails(t *testing.T, c redis.UniversalClient) (int, int64, int64) {
	t.Helper()
	return dropKeys(t, c, userTrailPatterns...)
}

// dropKeys deletes the keys that match patterns and returns how many keys that
// was and used_memory before and after.
func dropKeys(t *testing.T, c redis.UniversalClient, patterns ...string) (int, int64, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var keys []string
	for _, p := range patterns {
		iter := c.Scan(ctx, 0, p, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}
	before := usedMemory(t, c)
	for i := 0; i < len(keys); i += 500 {
		if err := c.Del(ctx, keys[i:min(i+500, len(keys))]...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return len(keys), before, usedMemory(t, c)
}
