package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// BenchmarkClaimFinish is the worker's two store calls for one job, claim then
// finish as verified (a record transition, an audit entry and the acknowledgement),
// one job after another: their latency, the ingest benchmarks' counterpart.
//
//	go test -run '^$' -bench 'ClaimFinish|AuditNote|AuditRead' ./store/
func BenchmarkClaimFinish(b *testing.B) {
	r := openStore(b)
	if err := r.EnsureGroup(b.Context()); err != nil {
		b.Fatal(err)
	}
	jobs := make([]store.Job, 0, b.N)
	for i := range b.N {
		u := "auth0|bench" + strconv.Itoa(i)
		putPending(b, r, u, time.Now())
		if _, err := r.Ingest(b.Context(), store.IngestRequest{WebhookID: "w" + strconv.Itoa(i), UserID: u, ReplayTTL: time.Minute, Payload: []byte(`{}`)}); err != nil {
			b.Fatal(err)
		}
	}
	for len(jobs) < b.N {
		js, err := r.Read(b.Context(), "bench", 1000, 0)
		if err != nil {
			b.Fatal(err)
		}
		jobs = append(jobs, js...)
	}
	b.ResetTimer()
	for _, j := range jobs {
		if _, ok, err := r.Claim(b.Context(), j.UserID, j.Owner()); err != nil || !ok {
			b.Fatalf("claim: %v, %v", ok, err)
		}
		if err := r.Finish(b.Context(), j, store.Outcome{Code: store.OutcomeVerified, Close: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditNote is one audit entry written to both trails (the global stream and
// the user's), the part every deciding script shares.
func BenchmarkAuditNote(b *testing.B) {
	r := openStore(b)
	b.ResetTimer()
	for i := range b.N {
		if err := r.Note(b.Context(), "auth0|bench"+strconv.Itoa(i%1000), store.AuditRegistered, store.AuditByCLI, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditRead is `mailproof audit --user`: the last 50 entries of one user
// who has 20.
func BenchmarkAuditRead(b *testing.B) {
	r := openStore(b)
	for i := range 20 {
		if err := r.Note(b.Context(), "auth0|bench", store.AuditRegistered, store.AuditByCLI, strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if got, err := r.Audit(b.Context(), "auth0|bench", 50); err != nil || len(got) != 20 {
			b.Fatalf("audit: %d entries, %v", len(got), err)
		}
	}
}
