package store_test

import (
	"strconv"
	"testing"

	"github.com/mailproof/mailproof/store"
)

// BenchmarkPutPending is one record written, as provisioning and `pending add` write
// them: the record, its pending index entry and its email index entry.
//
//	go test -run '^$' -bench 'Ingest$|ClaimFinish|Put' ./store/
func BenchmarkPutPending(b *testing.B) {
	r := openStore(b)
	b.ResetTimer()
	for i := range b.N {
		u := "auth0|bench" + strconv.Itoa(i)
		if err := r.PutPending(b.Context(), store.Record{UserID: u, Email: "person" + strconv.Itoa(i) + "@example.com", Connection: "Username-Password-Authentication"}); err != nil {
			b.Fatal(err)
		}
	}
}
