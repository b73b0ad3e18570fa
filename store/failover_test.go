package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// A Sentinel failover needs no restart: the store's client follows the
// sentinels to the promoted replica, and what reached the replica is there.
func TestSentinelFailover(t *testing.T) {
	t.Parallel() // seconds of waiting for the sentinels, on processes of its own
	set := redistest.DedicatedSentinel(t)
	r := openURL(t, set.URL())
	putPending(t, r, "auth0|before", time.Now())
	if err := r.Client().Do(timeout(t), "WAIT", 1, 5000).Err(); err != nil {
		t.Fatalf("wait for the replica: %v", err)
	}

	set.Master().Stop()
	// The sentinels call the master down after 2 s, then elect and promote.
	waitAnswer(t, r, "auth0|before")
	waitWrite(t, r, "auth0|after")
	port, err := r.Client().ConfigGet(timeout(t), "port").Result()
	if err != nil || !strings.HasSuffix(set.Replica().Addr(), ":"+port["port"]) {
		t.Errorf("wrote to the server on port %v (%v), want the promoted replica %s", port, err, set.Replica().Addr())
	}
}

// A Cluster failover of the shard holding {mp} needs no restart either: the
// client learns the new slot owner from the Cluster.
func TestClusterFailover(t *testing.T) {
	t.Parallel() // seconds of waiting for the election, on processes of its own
	cl := redistest.DedicatedCluster(t)
	r := openURL(t, cl.URL())
	putPending(t, r, "auth0|before", time.Now())
	c := r.Client().(*redis.ClusterClient)
	m, err := c.MasterForKey(timeout(t), "mp:{mp}:jobs")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Do(timeout(t), "WAIT", 1, 5000).Err(); err != nil {
		t.Fatalf("wait for the replica: %v", err)
	}
	old := cl.MasterFor("mp:{mp}:jobs")

	old.Stop()
	// The replicas call the master failed after the node timeout (2 s),
	// then one is elected.
	waitAnswer(t, r, "auth0|before")
	waitWrite(t, r, "auth0|after")
	if now := cl.MasterFor("mp:{mp}:jobs"); now.Addr() == old.Addr() {
		t.Errorf("the {mp} slot is still on the stopped %s", old.Addr())
	}
}

// waitWrite writes a record until the store takes it, for 10 s: for a moment
// after a read answers, go-redis may still dial the old master for a write on
// a new connection (the receiver answers 503 then, and the Action retries).
func waitWrite(t *testing.T, r *store.Redis, userID string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := r.PutPending(timeout(t), store.Record{UserID: userID, ProvisionedAt: time.Now()})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("put pending %s: still failing 10 s after reads answered: %v", userID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAnswer reads a record until the store answers again, for 30 s.
func waitAnswer(t *testing.T, r *store.Redis, userID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := r.Get(timeout(t), userID)
		if err == nil {
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after the failover %s is gone, want it replicated", userID)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer 30 s after the master stopped: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
