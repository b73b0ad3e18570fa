package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the sentinels of Sentinel monitor.
const MasterName = "mailproof"

// sentinels is the one Sentinel set of this test binary, package state for
// the same reason as shared.
var sentinels = &sentinelSet{dbs: make(chan int, databases)}

// sentinelSet is a master, its replica and three sentinels watching them.
type sentinelSet struct {
	mu      sync.Mutex
	started bool
	err     error
	servers []*Server // master, replica, then the sentinels
	admin   *redis.Client
	dbs     chan int
}

// Sentinel returns a URL for an empty database of the test binary's Sentinel
// set (a master, a replica and three sentinels on loopback, started on first
// use and stopped by Main), in go-redis's failover form:
//
//	redis://127.0.0.1:S1/N?master_name=mailproof&addr=127.0.0.1:S2&addr=127.0.0.1:S3
//
// The database belongs to the test until it ends, as with URL. Without
// redis-server the test is skipped, or fails under MAILPROOF_TEST_REQUIRE_REDIS=1.
func Sentinel(t testing.TB) string {
	t.Helper()
	bin := need(t, "Sentinel", "redis-server", "redis-server")
	s := sentinels
	if !shared.mainRuns() {
		t.Fatalf("redistest: call redistest.Main(m) from TestMain so the Sentinel set is stopped after the tests")
	}
	s.mu.Lock()
	if !s.started {
		s.started = true
		s.err = s.start(bin)
		if s.err == nil {
			for i := range databases {
				s.dbs <- i
			}
		} else {
			s.stopLocked()
		}
	}
	err, admin := s.err, s.admin
	s.mu.Unlock()
	if err != nil {
		t.Fatalf("redistest: Sentinel set: %v", err)
	}

	var db int
	select {
	case db = <-s.dbs:
	case <-t.Context().Done():
		t.Fatalf("redistest: test ended while waiting for a free database")
	}
	if err := flushDB(t.Context(), admin, db); err != nil {
		s.dbs <- db
		t.Fatalf("redistest: flush database %d of the Sentinel master: %v", db, err)
	}
	t.Cleanup(func() {
		if err := flushDB(context.Background(), admin, db); err != nil {
			t.Errorf("redistest: flush database %d of the Sentinel master after the test: %v", db, err)
		}
		s.dbs <- db
	})
	return s.url(db)
}

// url is the go-redis failover URL of database db.
func (s *sentinelSet) url(db int) string {
	sn := s.servers[2:]
	return fmt.Sprintf("redis://%s/%d?master_name=%s&addr=%s&addr=%s", sn[0].Addr(), db, MasterName, sn[1].Addr(), sn[2].Addr())
}

// start runs the master, the replica and the sentinels, and waits until the
// replica is in sync and every sentinel names the master.
func (s *sentinelSet) start(bin string) error {
	// Without the delay a replica's first sync waits 5 s for company.
	master := &Server{bin: bin, args: []string{"--repl-diskless-sync-delay", "0"}}
	if err := master.startFresh(); err != nil {
		return fmt.Errorf("master: %w", err)
	}
	s.servers = append(s.servers, master)
	s.admin = redis.NewClient(&redis.Options{Addr: master.Addr(), Protocol: 2})
	host, port := splitAddr(master.Addr())
	replica := &Server{bin: bin, args: []string{"--replicaof", host, port}}
	if err := replica.startFresh(); err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	s.servers = append(s.servers, replica)
	for i := range 3 {
		dir, err := os.MkdirTemp("", "redistest-sentinel-")
		if err != nil {
			return err
		}
		// A sentinel rewrites its file, so each has its own. A short
		// down-after lets a test that stops the master see a failover
		// within seconds.
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("sentinel monitor %s %s %s 2\nsentinel down-after-milliseconds %[1]s 2000\nsentinel failover-timeout %[1]s 10000\n",
			MasterName, host, port)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return err
		}
		sn := &Server{bin: bin, conf: conf, args: []string{"--sentinel"}, dir: dir}
		if err := sn.startFresh(); err != nil {
			return fmt.Errorf("sentinel %d: %w", i+1, err)
		}
		s.servers = append(s.servers, sn)
	}
	return s.waitSynced()
}

func (s *sentinelSet) waitSynced() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for {
		info, err := s.admin.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "connected_slaves:1") && strings.Contains(info, "state=online") {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the replica did not come online: %v %q", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, sn := range s.servers[2:] {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr()})
		addr, err := c.GetMasterAddrByName(ctx, MasterName).Result()
		_ = c.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: master %s: %w", sn.Addr(), MasterName, err)
		}
		if got := strings.Join(addr, ":"); got != s.servers[0].Addr() {
			return fmt.Errorf("sentinel %s names master %s, want %s", sn.Addr(), got, s.servers[0].Addr())
		}
	}
	return nil
}

// stop stops every process of the set; Main calls it.
func (s *sentinelSet) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *sentinelSet) stopLocked() {
	if s.admin != nil {
		_ = s.admin.Close()
		s.admin = nil
	}
	for _, srv := range s.servers {
		srv.shutdown()
	}
	s.servers = nil
}

func splitAddr(addr string) (host, port string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// SentinelSet is a Sentinel set of one test's own (DedicatedSentinel), for
// tests that fail its master over.
type SentinelSet struct {
	set *sentinelSet
}

// DedicatedSentinel starts a master, a replica and three sentinels for this
// test alone and stops them when it ends. Skipped, or failed under
// MAILPROOF_TEST_REQUIRE_REDIS=1, without redis-server.
func DedicatedSentinel(t testing.TB) *SentinelSet {
	t.Helper()
	bin := need(t, "Sentinel", "redis-server", "redis-server")
	s := &sentinelSet{}
	t.Cleanup(s.stop)
	if err := s.start(bin); err != nil {
		t.Fatalf("redistest: Sentinel set: %v", err)
	}
	for _, sv := range s.servers {
		sv.t = t // Start, Pause and Resume report to the test
	}
	return &SentinelSet{set: s}
}

// URL returns the go-redis failover URL of database 0, as Sentinel does.
func (s *SentinelSet) URL() string { return s.set.url(0) }

// Master is the server that was master when the set started.
func (s *SentinelSet) Master() *Server { return s.set.servers[0] }

// Replica is the server that was its replica.
func (s *SentinelSet) Replica() *Server { return s.set.servers[1] }
