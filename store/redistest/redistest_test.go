package redistest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	o.MaxRetries = -1
	o.ContextTimeoutEnabled = true
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestURLGivesEachTestAnEmptyPrivateDatabase(t *testing.T) {
	urls := map[string]bool{}
	for _, name := range []string{"first", "second", "third"} {
		t.Run(name, func(t *testing.T) {
			url := redistest.URL(t)
			c := client(t, url)
			if n, err := c.DBSize(t.Context()).Result(); err != nil || n != 0 {
				t.Fatalf("%s: dbsize %d (err %v), want 0", url, n, err)
			}
			if err := c.Set(t.Context(), "leftover", name, 0).Err(); err != nil {
				t.Fatalf("set: %v", err)
			}
			urls[url] = true
		})
	}
	if len(urls) == 0 {
		t.Fatalf("no URL handed out")
	}
}

func TestURLsOfConcurrentTestsDiffer(t *testing.T) {
	a, b := redistest.URL(t), redistest.URL(t)
	if a == b {
		t.Fatalf("two borrows got %s and %s, want different databases", a, b)
	}
	ca, cb := client(t, a), client(t, b)
	if err := ca.Set(t.Context(), "k", "a", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if err := cb.Get(t.Context(), "k").Err(); err != redis.Nil {
		t.Fatalf("get k in %s: %v, want redis.Nil", b, err)
	}
}

func TestDedicatedStopStartPause(t *testing.T) {
	s := redistest.Dedicated(t)
	c := client(t, s.URL())
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}

	s.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatalf("ping after Stop: nil error, want one")
	}

	s.Start()
	if err := c.Ping(ctx).Err(); err != nil {
		// The first command may use a connection the restart broke.
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("ping after Start: %v", err)
		}
	}
	if n, _ := c.Exists(ctx, "k").Result(); n != 0 {
		t.Fatalf("key survived a restart: exists %d, want 0 (no persistence)", n)
	}

	s.Pause()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := c.Ping(short).Err(); err == nil {
		t.Fatalf("ping while paused: nil error, want a timeout")
	}
	s.Resume()
	if err := c.Ping(ctx).Err(); err != nil {
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("ping after Resume: %v", err)
		}
	}
}

func TestDedicatedPassesArguments(t *testing.T) {
	s := redistest.Dedicated(t, "--maxmemory-policy", "allkeys-lru")
	got, err := client(t, s.URL()).ConfigGet(t.Context(), "maxmemory-policy").Result()
	if err != nil {
		t.Fatalf("config get: %v", err)
	}
	if got["maxmemory-policy"] != "allkeys-lru" {
		t.Fatalf("maxmemory-policy %q, want allkeys-lru", got["maxmemory-policy"])
	}
}

func TestSentinelGivesAnEmptyDatabaseBehindTheSentinels(t *testing.T) {
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			url := redistest.Sentinel(t)
			o, err := redis.ParseFailoverURL(url)
			if err != nil {
				t.Fatalf("parse %s: %v", url, err)
			}
			if o.MasterName != redistest.MasterName || len(o.SentinelAddrs) != 3 {
				t.Fatalf("%s: master %q, %d sentinels; want %q, 3", url, o.MasterName, len(o.SentinelAddrs), redistest.MasterName)
			}
			c := redis.NewFailoverClient(o)
			defer c.Close()
			if n, err := c.DBSize(t.Context()).Result(); err != nil || n != 0 {
				t.Fatalf("%s: dbsize %d (err %v), want 0", url, n, err)
			}
			if err := c.Set(t.Context(), "leftover", name, 0).Err(); err != nil {
				t.Fatalf("set: %v", err)
			}
		})
	}
}

func TestClusterGivesAnEmptyClusterOfThreeShards(t *testing.T) {
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			url := redistest.Cluster(t)
			o, err := redis.ParseClusterURL(url)
			if err != nil {
				t.Fatalf("parse %s: %v", url, err)
			}
			c := redis.NewClusterClient(o)
			defer c.Close()
			var masters atomic.Int32 // ForEachMaster runs the masters at once
			err = c.ForEachMaster(t.Context(), func(ctx context.Context, m *redis.Client) error {
				masters.Add(1)
				if n, err := m.DBSize(ctx).Result(); err != nil || n != 0 {
					t.Errorf("%s: master %s: dbsize %d (err %v), want 0", name, m, n, err)
				}
				return nil
			})
			if err != nil || masters.Load() != 3 {
				t.Fatalf("%s: %d masters (err %v), want 3", name, masters.Load(), err)
			}
			for _, k := range []string{"a", "b", "c", "{mp}x"} { // spread over the shards
				if err := c.Set(t.Context(), k, name, time.Minute).Err(); err != nil {
					t.Fatalf("set %s: %v", k, err)
				}
			}
		})
	}
}
