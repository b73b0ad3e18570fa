package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// backend is one Redis deployment the store must work on. The conformance
// tests (dex's storage conformance suite is the model) take one and open
// their stores from it; conform runs such a test on every deployment, each a
// real set of processes started by redistest on loopback.
type backend struct {
	name string
	// url gives the test an empty Redis of its own until it ends; calling
	// it twice in one test gives two.
	url func(testing.TB) string
}

// open opens the store on an empty Redis of the backend.
func (b backend) open(t testing.TB, opts ...store.Option) *store.Redis {
	t.Helper()
	return openURL(t, b.url(t), opts...)
}

// backends lists the deployments Open supports (see doc.go, "Connecting").
func backends() []backend {
	return []backend{
		{name: "single", url: redistest.URL},
		{name: "sentinel", url: redistest.Sentinel},
		{name: "cluster", url: redistest.Cluster},
	}
}

// conform runs test once per backend, as parallel subtests named after it:
// the deployments are separate processes, so a test costs the time of its
// slowest deployment, not the sum (the limiter's tests wait out real rates).
func conform(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b)
		})
	}
}

// allKeys lists every key in the store's Redis. KEYS answers for one node,
// so on a Cluster it asks every master: a key that escaped the {mp} slot
// shows up too.
func allKeys(t *testing.T, r *store.Redis) []string {
	t.Helper()
	c, ok := r.Client().(*redis.ClusterClient)
	if !ok {
		keys, err := r.Client().Keys(timeout(t), "*").Result()
		if err != nil {
			t.Fatalf("keys: %v", err)
		}
		return keys
	}
	var mu sync.Mutex
	var keys []string
	err := c.ForEachMaster(timeout(t), func(ctx context.Context, m *redis.Client) error {
		k, err := m.Keys(ctx, "*").Result()
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, k...)
		return err
	})
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	return keys
}
