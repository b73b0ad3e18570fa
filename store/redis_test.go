package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

func TestOpenErrorsNeverShowThePassword(t *testing.T) {
	const secret = "s3cr3t-pa55"
	tests := []struct {
		name string
		url  string
	}{
		{"unparsable URL", "redis://user:" + secret + "@127.0.0.1:bad port/0"},
		{"bad scheme", "http://user:" + secret + "@127.0.0.1:6379/0"},
		{"bad database", "redis://user:" + secret + "@127.0.0.1:6379/notanumber"},
		{"nobody listening", "redis://user:" + secret + "@127.0.0.1:1/0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := store.Open(timeout(t), tc.url)
			if err == nil {
				_ = r.Close()
				t.Fatalf("%s: Open succeeded, want an error", tc.name)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q contains the password", tc.name, err)
			}
		})
	}
}

func TestOpenPingsAndCloses(t *testing.T) {
	r := openStore(t)
	if err := r.Ping(timeout(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if r.Client() == nil {
		t.Fatalf("Client() is nil")
	}
	if err := r.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := r.Ping(timeout(t)); err == nil {
		t.Fatalf("ping after Close: nil error, want one")
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	url := redistest.URL(t)
	tests := []struct {
		name string
		opt  store.Option
	}{
		{"negative pending ttl", store.WithPendingTTL(-time.Second)},
		{"negative retention", store.WithRetention(-time.Second)},
		{"zero audit cap", store.WithAuditMaxLen(0)},
		{"zero dlq cap", store.WithDLQMaxLen(0)},
	}
	for _, tc := range tests {
		r, err := store.Open(timeout(t), url, tc.opt)
		if err == nil {
			_ = r.Close()
			t.Errorf("%s: Open succeeded, want an error", tc.name)
		}
	}
}

// TestRedisDown checks that every store call fails instead of hanging while
// Redis is stopped or frozen, and works again once Redis is back (empty,
// with no scripts cached).
func TestRedisDown(t *testing.T) {
	srv := redistest.Dedicated(t)
	r := openURL(t, srv.URL())
	lim := store.NewLimiter(r, 100)
	ing := store.NewIngester(r, 0)
	t.Cleanup(ing.Close)
	req := store.IngestRequest{WebhookID: "msg_1", UserID: "auth0|1", ReplayTTL: time.Minute, Payload: []byte("{}")}
	job := store.Job{ID: "1-1", UserID: "auth0|1", WebhookID: "msg_1", Attempt: 1}

	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", r.Ping},
		{"CheckEvictionPolicy", r.CheckEvictionPolicy},
		{"PutPending", func(ctx context.Context) error { return r.PutPending(ctx, store.Record{UserID: "auth0|1"}) }},
		{"Get", func(ctx context.Context) error { _, err := r.Get(ctx, "auth0|1"); return err }},
		{"DeletePending", func(ctx context.Context) error { _, err := r.DeletePending(ctx, "auth0|1"); return err }},
		{"ListPending", func(ctx context.Context) error { _, _, err := r.ListPending(ctx, "", 10); return err }},
		{"Ingest", func(ctx context.Context) error { _, err := r.Ingest(ctx, req); return err }},
		{"Ingester.Ingest", func(ctx context.Context) error { _, err := ing.Ingest(ctx, req); return err }},
		{"EnsureGroup", r.EnsureGroup},
		{"Read", func(ctx context.Context) error { _, err := r.Read(ctx, "c1", 10, 50*time.Millisecond); return err }},
		{"Reclaim", func(ctx context.Context) error { _, err := r.Reclaim(ctx, "c1", time.Second, 10); return err }},
		{"Claim", func(ctx context.Context) error { _, _, err := r.Claim(ctx, "auth0|1", "msg_1"); return err }},
		{"Finish", func(ctx context.Context) error {
			return r.Finish(ctx, job, store.Outcome{Code: "verified", Close: true})
		}},
		{"Retry", func(ctx context.Context) error { return r.Retry(ctx, job, time.Now(), "boom") }},
		{"MoveDue", func(ctx context.Context) error { _, err := r.MoveDue(ctx, time.Now(), 10); return err }},
		{"DeadLetter", func(ctx context.Context) error { return r.DeadLetter(ctx, job, "boom") }},
		{"ListDLQ", func(ctx context.Context) error { _, err := r.ListDLQ(ctx, 10); return err }},
		{"ReplayDLQ", func(ctx context.Context) error { _, err := r.ReplayDLQ(ctx, "1-1"); return err }},
		{"Audit", func(ctx context.Context) error { _, err := r.Audit(ctx, "", 10); return err }},
		{"QueueStats", func(ctx context.Context) error { _, err := r.QueueStats(ctx); return err }},
		{"Limiter.Wait", lim.Wait},
		{"Limiter.Pause", func(ctx context.Context) error { return lim.Pause(ctx, time.Now().Add(time.Second)) }},
	}
	failAll := func(state string, ctxTimeout time.Duration) {
		t.Helper()
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), ctxTimeout)
				defer cancel()
				if err := c.call(ctx); err == nil {
					t.Errorf("%s with Redis %s: nil error, want one", c.name, state)
				}
			})
		}
		wg.Wait()
	}

	srv.Stop()
	failAll("stopped", 10*time.Second)

	srv.Start()
	srv.Pause()
	failAll("frozen", 300*time.Millisecond)
	srv.Resume()

	// Back. After many failed dials go-redis stops dialing and probes once a
	// second, so give it a moment to notice; then connections broken by the
	// restart and the empty script cache must not matter to any caller.
	for deadline := time.Now().Add(10 * time.Second); r.Ping(timeout(t)) != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("redis still unreachable 10s after it came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.PutPending(timeout(t), store.Record{UserID: "auth0|1", Email: "a@example.com"}); err != nil {
		t.Fatalf("put pending after restart: %v", err)
	}
	for name, ingest := range map[string]func(context.Context, store.IngestRequest) (store.IngestResult, error){
		"Ingest": r.Ingest, "Ingester.Ingest": ing.Ingest,
	} {
		req.WebhookID = "msg_" + name
		res, err := ingest(timeout(t), req)
		if err != nil || res.Status != store.IngestQueued {
			t.Errorf("%s after restart: %+v, %v; want queued", name, res, err)
		}
	}
	if _, err := r.Get(timeout(t), "auth0|nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get missing after restart: %v, want ErrNotFound", err)
	}
}

func TestOpenSentinelScheme(t *testing.T) {
	url := redistest.Sentinel(t)
	r := openURL(t, strings.Replace(url, "redis://", "redis-sentinel://", 1))
	if err := r.Ping(timeout(t)); err != nil {
		t.Fatalf("ping through redis-sentinel://: %v", err)
	}
	if _, ok := r.Client().(*redis.Client); !ok {
		t.Fatalf("client %T, want the failover *redis.Client", r.Client())
	}
}

func TestOpenUnknownSentinelMaster(t *testing.T) {
	url := strings.Replace(redistest.Sentinel(t), "master_name="+redistest.MasterName, "master_name=nosuch", 1)
	r, err := store.Open(timeout(t), url)
	if err == nil {
		_ = r.Close()
		t.Fatalf("open with an unknown master: nil error, want one")
	}
	if !strings.Contains(err.Error(), `master "nosuch"`) {
		t.Errorf("error %q, want it to name the master", err)
	}
}
