package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusters is the one Cluster of this test binary, package state for the
// same reason as shared.
var clusters = &cluster{turn: make(chan struct{}, 1)}

// cluster is three masters with a replica each. A Cluster has only database
// 0, so tests take turns: turn holds one token, taken by the test using it.
type cluster struct {
	mu      sync.Mutex
	started bool
	err     error
	servers []*Server
	admin   *redis.ClusterClient
	turn    chan struct{}
}

// clusterStartTimeout bounds how long the six nodes may take to agree on
// the slots after redis-cli created the cluster.
const clusterStartTimeout = 30 * time.Second

// Cluster returns a URL for the test binary's Redis Cluster (three masters
// with a replica each on loopback, created with redis-cli --cluster create
// on first use and stopped by Main), in go-redis's cluster form:
//
//	redis://127.0.0.1:P1?addr=127.0.0.1:P2&addr=127.0.0.1:P3
//
// A Cluster has one database, so the test has the whole Cluster, emptied,
// until it ends; another test calling Cluster waits. Without redis-server or
// redis-cli the test is skipped, or fails under MAILPROOF_TEST_REQUIRE_REDIS=1.
func Cluster(t testing.TB) string {
	t.Helper()
	bin := need(t, "Cluster", "redis-server", "redis-server")
	cli := need(t, "Cluster", "redis-cli", "redis-tools")
	if !shared.mainRuns() {
		t.Fatalf("redistest: call redistest.Main(m) from TestMain so the Cluster is stopped after the tests")
	}
	c := clusters
	c.mu.Lock()
	if !c.started {
		c.started = true
		c.err = c.start(bin, cli)
		if c.err == nil {
			c.turn <- struct{}{}
		} else {
			c.stopLocked()
		}
	}
	err, admin := c.err, c.admin
	c.mu.Unlock()
	if err != nil {
		t.Fatalf("redistest: Cluster: %v", err)
	}

	select {
	case <-c.turn:
	case <-t.Context().Done():
		t.Fatalf("redistest: test ended while waiting for the Cluster")
	}
	if err := flushCluster(t.Context(), admin); err != nil {
		c.turn <- struct{}{}
		t.Fatalf("redistest: empty the Cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := flushCluster(context.Background(), admin); err != nil {
			t.Errorf("redistest: empty the Cluster after the test: %v", err)
		}
		c.turn <- struct{}{}
	})
	return c.url()
}

// url is the go-redis cluster URL with the first three nodes as seeds.
func (c *cluster) url() string {
	return fmt.Sprintf("redis://%s?addr=%s&addr=%s", c.servers[0].Addr(), c.servers[1].Addr(), c.servers[2].Addr())
}

// start runs six cluster-enabled nodes, joins them with redis-cli (the
// first three become masters, the rest their replicas) and waits until every
// node sees all slots served.
func (c *cluster) start(bin, cli string) error {
	for i := range 6 {
		n := &Server{bin: bin, clusterPort: true, args: []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000",
			"--repl-diskless-sync-delay", "0", // a replica's first sync would wait 5 s
		}}
		if err := n.startFresh(); err != nil {
			return fmt.Errorf("node %d: %w", i+1, err)
		}
		c.servers = append(c.servers, n)
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.servers {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redis-cli --cluster create: %w; output: %s", err, out)
	}
	if err := c.waitAgreed(ctx); err != nil {
		return err
	}
	addrs := make([]string, len(c.servers))
	for i, n := range c.servers {
		addrs[i] = n.Addr()
	}
	c.admin = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Protocol: 2})
	return c.admin.Ping(ctx).Err()
}

// waitAgreed polls CLUSTER INFO on every node until each reports the cluster
// ok with all 16384 slots, and every replica has synced from its master.
func (c *cluster) waitAgreed(ctx context.Context) error {
	for _, n := range c.servers {
		nc := redis.NewClient(&redis.Options{Addr: n.Addr(), Protocol: 2})
		err := func() error {
			defer nc.Close()
			for {
				info, err := nc.ClusterInfo(ctx).Result()
				if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384") {
					repl, err := nc.Info(ctx, "replication").Result()
					if err == nil && (strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up")) {
						return nil
					}
				}
				if ctx.Err() != nil {
					return fmt.Errorf("node %s not ready within %s: %v %q", n.Addr(), clusterStartTimeout, err, info)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// flushCluster empties every master.
func flushCluster(ctx context.Context, admin *redis.ClusterClient) error {
	return admin.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.FlushAll(ctx).Err()
	})
}

// stop stops every node; Main calls it.
func (c *cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked()
}

func (c *cluster) stopLocked() {
	if c.admin != nil {
		_ = c.admin.Close()
		c.admin = nil
	}
	for _, n := range c.servers {
		n.shutdown()
	}
	c.servers = nil
}

// ClusterSet is a Cluster of one test's own (DedicatedCluster), for tests
// that fail a master over.
type ClusterSet struct {
	t testing.TB
	c *cluster
}

// DedicatedCluster starts three masters with a replica each for this test
// alone and stops them when it ends. Skipped, or failed under
// MAILPROOF_TEST_REQUIRE_REDIS=1, without redis-server or redis-cli.
func DedicatedCluster(t testing.TB) *ClusterSet {
	t.Helper()
	bin := need(t, "Cluster", "redis-server", "redis-server")
	cli := need(t, "Cluster", "redis-cli", "redis-tools")
	c := &cluster{}
	t.Cleanup(c.stop)
	if err := c.start(bin, cli); err != nil {
		t.Fatalf("redistest: Cluster: %v", err)
	}
	for _, sv := range c.servers {
		sv.t = t // Start, Pause and Resume report to the test
	}
	return &ClusterSet{t: t, c: c}
}

// URL returns the go-redis cluster URL, as Cluster does.
func (s *ClusterSet) URL() string { return s.c.url() }

// MasterFor returns the server that is master of key's slot now, as a fresh
// read of the slot map says.
func (s *ClusterSet) MasterFor(key string) *Server {
	s.t.Helper()
	addrs := make([]string, len(s.c.servers))
	for i, n := range s.c.servers {
		addrs[i] = n.Addr()
	}
	fresh := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Protocol: 2})
	defer fresh.Close()
	m, err := fresh.MasterForKey(s.t.Context(), key)
	if err != nil {
		s.t.Fatalf("redistest: master of %s: %v", key, err)
	}
	for _, n := range s.c.servers {
		if n.Addr() == m.Options().Addr {
			return n
		}
	}
	s.t.Fatalf("redistest: master of %s is %s, not one of the Cluster's servers", key, m.Options().Addr)
	return nil
}
