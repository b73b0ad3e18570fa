package proof

import (
	"errors"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// The worker runs the tidy pass: records past their retention go, the count
// shows in mailproof_records_tidied_total, and a second replica's offer within
// the lease reads nothing.
func TestWorkerTidiesRecordsPastTheirRetention(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	rdb, err := store.Open(t.Context(), h.url, store.WithRetention(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	h.rdb = rdb
	past := time.Now().Add(-2 * time.Minute)
	for _, u := range []string{"auth0|lapsed", "auth0|waiting"} {
		rec := store.Record{UserID: u, ExpiresAt: past}
		if u == "auth0|waiting" {
			rec.ExpiresAt = time.Now().Add(time.Hour)
		}
		if err := rdb.PutPending(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	w := h.worker()
	w.tidy(t.Context())
	if got := counterValue(w.metrics.tidied); got != 1 {
		t.Errorf("mailproof_records_tidied_total %v, want 1", got)
	}
	if _, err := rdb.Get(t.Context(), "auth0|lapsed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record past its retention: %v; want deleted", err)
	}
	if _, err := rdb.Get(t.Context(), "auth0|waiting"); err != nil {
		t.Errorf("record still waiting: %v; want kept", err)
	}
	if err := rdb.PutPending(t.Context(), store.Record{UserID: "auth0|later", ExpiresAt: past}); err != nil {
		t.Fatal(err)
	}
	other := h.worker()
	other.tidy(t.Context())
	if got := counterValue(other.metrics.tidied); got != 0 {
		t.Errorf("a second replica within the lease deleted %v records, want 0", got)
	}
}

// A running worker offers the tidy pass on its own, every TidyEvery.
func TestWorkerRunTidies(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TidyEvery = 50 * time.Millisecond }, auth0test.Config{})
	rdb, err := store.Open(t.Context(), h.url, store.WithRetention(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	h.rdb = rdb
	if err := rdb.PutPending(t.Context(), store.Record{UserID: "auth0|lapsed", ExpiresAt: time.Now().Add(-2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	h.start(h.worker())
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := rdb.Get(t.Context(), "auth0|lapsed")
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("record past its retention still there 10 s after the worker started: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
