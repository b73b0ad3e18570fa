package store_test

import (
	"fmt"
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

// BenchmarkIngestFew is group commit with few callers, each sending its next event
// when the last is answered: one caller has no company to wait for, and two to four
// never fill a batch. Neither may make the Ingester wait out its linger. ns/op is wall
// time per event, across the callers.
//
//	go test -run '^$' -bench IngestFew ./store/
func BenchmarkIngestFew(b *testing.B) {
	r := openStore(b)
	putPending(b, r, "auth0|pending", time.Now())
	in := store.NewIngester(r, 0)
	b.Cleanup(in.Close)
	var seq atomic.Int64
	for _, callers := range []int{1, 2, 4} {
		for _, path := range []struct {
			name   string
			ingest ingestFunc
		}{{"direct", r.Ingest}, {"batched", in.Ingest}} {
			b.Run(fmt.Sprintf("callers%d/%s", callers, path.name), func(b *testing.B) {
				var next atomic.Int64
				var wg sync.WaitGroup
				for range callers {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							_, err := path.ingest(b.Context(), store.IngestRequest{
								WebhookID: "few" + strconv.FormatInt(seq.Add(1), 10), UserID: "auth0|pending", ReplayTTL: 10 * time.Minute,
							})
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			})
		}
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
