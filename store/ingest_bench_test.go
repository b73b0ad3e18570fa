package store_test

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// BenchmarkIngest compares one round trip per event with the group-commit
// Ingester, 32 goroutines each, the receiver's load shape. Half the events
// are for a pending user (queued), half for unknown users (not_pending).
//
//	go test -run '^$' -bench Ingest -benchmem ./store/
func BenchmarkIngest(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		r := openStore(b)
		benchIngest(b, r, r.Ingest)
	})
	for _, batch := range []int{32, store.DefaultMaxBatch} {
		b.Run("batched/max"+strconv.Itoa(batch), func(b *testing.B) {
			r := openStore(b)
			in := store.NewIngester(r, batch)
			b.Cleanup(in.Close)
			benchIngest(b, r, in.Ingest)
		})
	}
}

func benchIngest(b *testing.B, r *store.Redis, ingest ingestFunc) {
	putPending(b, r, "auth0|pending", time.Now())
	payload := []byte(`{"type":"auth0.post_login","data":{"user":{"user_id":"auth0|pending","email":"ada@example.com","email_verified":false}}}`)
	const clients = 32
	var seq atomic.Int64
	var wg sync.WaitGroup
	redisBefore, goBefore := redisCPU(b, r), processCPU()
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			for {
				n := seq.Add(1)
				if n > int64(b.N) {
					return
				}
				user := "auth0|pending"
				if n%2 == 0 {
					user = "auth0|unknown"
				}
				_, err := ingest(b.Context(), store.IngestRequest{
					WebhookID: "msg_" + strconv.FormatInt(n, 10), UserID: user,
					ReplayTTL: 10 * time.Minute, Payload: payload,
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	// CPU per event is what decides throughput once HTTP shares the cores.
	n := float64(b.N)
	b.ReportMetric((processCPU()-goBefore).Seconds()*1e6/n, "go-cpu-µs/op")
	b.ReportMetric((redisCPU(b, r)-redisBefore).Seconds()*1e6/n, "redis-cpu-µs/op")
}

// BenchmarkIngestLone is the price of group commit for a lone login: one caller at a
// time, so every event through the Ingester waits out the linger for company that
// never comes. ns/op is the latency of one event.
//
//	go test -run '^$' -bench IngestLone ./store/
func BenchmarkIngestLone(b *testing.B) {
	r := openStore(b)
	putPending(b, r, "auth0|pending", time.Now())
	in := store.NewIngester(r, 0)
	b.Cleanup(in.Close)
	for _, path := range []struct {
		name   string
		ingest ingestFunc
	}{{"direct", r.Ingest}, {"batched", in.Ingest}} {
		b.Run(path.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n++
				_, err := path.ingest(b.Context(), store.IngestRequest{
					WebhookID: path.name + strconv.Itoa(n), UserID: "auth0|pending", ReplayTTL: 10 * time.Minute,
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// processCPU is the user+system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the user+system CPU time of the redis-server process.
func redisCPU(b *testing.B, r *store.Redis) time.Duration {
	info, err := r.Client().Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatalf("info cpu: %v", err)
	}
	var sum float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				sum += f
			}
		}
	}
	return time.Duration(sum * float64(time.Second))
}
