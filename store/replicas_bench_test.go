package store_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// BenchmarkIngestMinReplicas is the cost of MAILPROOF_REDIS_MIN_REPLICAS=1 per accepted
// event on a Sentinel set (master, one replica, on loopback), read as the ratio of the
// two runs: one event at a time through *store.Redis (the latency of a lone login), and
// 32 concurrent callers through the Ingester as serve runs it (a batch shares one WAIT).
//
//	go test ./store/ -run '^$' -bench IngestMinReplicas -count 6 -benchtime 3000x
func BenchmarkIngestMinReplicas(b *testing.B) {
	url := redistest.Sentinel(b)
	for _, n := range []int{0, 1} {
		b.Run("one_at_a_time/min_replicas="+strconv.Itoa(n), func(b *testing.B) {
			r := openURL(b, url, store.WithMinReplicas(n, time.Second))
			putPending(b, r, "auth0|bench", time.Now())
			run := strconv.FormatInt(time.Now().UnixNano(), 36) // b.N grows over runs on one database
			b.ResetTimer()
			for i := range b.N {
				res, err := r.Ingest(b.Context(), ingestReq("auth0|bench", "msg_"+run+"_"+strconv.Itoa(i)))
				if err != nil || res.Status != store.IngestQueued {
					b.Fatalf("ingest: %+v, %v", res, err)
				}
			}
		})
	}
	for _, n := range []int{0, 1} {
		b.Run("ingester_32/min_replicas="+strconv.Itoa(n), func(b *testing.B) {
			r := openURL(b, url, store.WithMinReplicas(n, time.Second))
			putPending(b, r, "auth0|bench", time.Now())
			in := store.NewIngester(r, 64)
			defer in.Close()
			run := strconv.FormatInt(time.Now().UnixNano(), 36)
			var seq atomic.Int64
			b.SetParallelism(16) // 32 callers on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := "msg_" + run + "_" + strconv.FormatInt(seq.Add(1), 10)
					res, err := in.Ingest(b.Context(), ingestReq("auth0|bench", id))
					if err != nil || res.Status != store.IngestQueued {
						b.Errorf("ingest: %+v, %v", res, err)
						return
					}
				}
			})
		})
	}
}
