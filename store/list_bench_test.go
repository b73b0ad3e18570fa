package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// benchWaiting fills the store with n waiting records, a second apart.
func benchWaiting(b *testing.B, n int) *store.Redis {
	r := openStore(b)
	base := time.Now().Add(-time.Duration(n) * time.Second)
	for i := range n {
		putPending(b, r, "auth0|bench"+strconv.Itoa(i), base.Add(time.Duration(i)*time.Second))
	}
	return r
}

// BenchmarkListPending is `mailproof pending list`'s first page of 50 among 10,000
// waiting records; BenchmarkQueueStats the status page's and metrics' counters.
//
//	go test -run '^$' -bench 'ListPending|QueueStats|LongestWaiting' ./store/
func BenchmarkListPending(b *testing.B) {
	r := benchWaiting(b, 10_000)
	b.ResetTimer()
	for range b.N {
		if recs, _, err := r.ListPending(b.Context(), "", 50); err != nil || len(recs) != 50 {
			b.Fatalf("list: %d, %v", len(recs), err)
		}
	}
}

// BenchmarkLongestWaiting is the status page's ten records waiting longest.
func BenchmarkLongestWaiting(b *testing.B) {
	r := benchWaiting(b, 10_000)
	b.ResetTimer()
	for range b.N {
		if recs, err := r.LongestWaiting(b.Context(), 10); err != nil || len(recs) != 10 {
			b.Fatalf("longest: %d, %v", len(recs), err)
		}
	}
}

func BenchmarkQueueStats(b *testing.B) {
	r := benchWaiting(b, 10_000)
	b.ResetTimer()
	for range b.N {
		if s, err := r.QueueStats(b.Context()); err != nil || s.Pending != 10_000 {
			b.Fatalf("stats: %+v, %v", s, err)
		}
	}
}
