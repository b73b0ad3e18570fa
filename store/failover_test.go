package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// A Sentinel failover needs no restart: the store's client follows the
// sentinels to the promoted replica, and what reached the replica is there.
func TestSentinelFailover(t *testing.T) {
	set := redistest.DedicatedSentinel(t)
	r := openURL(t, set.URL())
	putPending(t, r, "auth0|before", time.Now())
	if err := r.Client().Do(timeout(t), "WAIT", 1, 5000).Err(); err != nil {
		t.Fatalf("wait for the replica: %v", err)
	}

	set.Master().Stop()
	// The sentinels call the master down after 2 s, then elect and promote.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := r.Get(timeout(t), "auth0|before")
		if err == nil {
			break
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after the failover the record is gone, want it replicated")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer 30 s after the master stopped: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	putPending(t, r, "auth0|after", time.Now())
	port, err := r.Client().ConfigGet(timeout(t), "port").Result()
	if err != nil || !strings.HasSuffix(set.Replica().Addr(), ":"+port["port"]) {
		t.Errorf("wrote to the server on port %v (%v), want the promoted replica %s", port, err, set.Replica().Addr())
	}
}
