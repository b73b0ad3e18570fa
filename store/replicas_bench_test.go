package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// BenchmarkIngestMinReplicas is the latency of one accepted event on a Sentinel set
// (master, one replica, on loopback) without and with the replica wait: the cost of
// MAILPROOF_REDIS_MIN_REPLICAS=1 per event, read as the ratio of the two.
//
//	go test ./store/ -run '^$' -bench IngestMinReplicas -count 5
func BenchmarkIngestMinReplicas(b *testing.B) {
	url := redistest.Sentinel(b)
	for _, n := range []int{0, 1} {
		b.Run("min_replicas="+strconv.Itoa(n), func(b *testing.B) {
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
}
