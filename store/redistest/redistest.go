// Package redistest gives tests a real Redis: one redis-server per test
// binary, started on first use on a free loopback port, with each test
// borrowing one of its 16 databases; dedicated servers a test can stop,
// restart and freeze to simulate Redis failures; and, for the deployments
// mailproof supports besides a single node, one Sentinel set (Sentinel) and
// one Cluster (Cluster) per test binary, also started on first use.
//
// A test package opts in with
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// or, for a shared server configured differently, redistest.Main(m, "--appendonly",
// "yes") (servers run without persistence unless told otherwise).
//
// and then calls URL(t) for an isolated, empty database or Dedicated(t) for a
// server of its own, Sentinel(t) for an empty database behind sentinels, or
// Cluster(t) for the whole Cluster, emptied (tests take turns on it), or
// DedicatedSentinel(t) and DedicatedCluster(t) for a set a test may fail over. Never FLUSHALL the shared server: other tests of the
// same package may be using its other databases.
//
// When no redis-server is on the PATH the helper falls back to the embedded
// miniredis and says so in the test log, unless MAILPROOF_TEST_REQUIRE_REDIS=1
// (set it in CI), in which case the test fails. Sentinel and Cluster have no
// fallback: without redis-server (and, for Cluster, redis-cli) they skip the
// test naming what is missing, or fail it under that variable.
package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// RequireEnv is the environment variable that turns the miniredis fallback
// into a test failure.
const RequireEnv = "MAILPROOF_TEST_REQUIRE_REDIS"

// databases is redis-server's default number of logical databases.
const databases = 16

// shared is the one server of this test binary. It is package state on
// purpose: TestMain and every test must reach the same process, and a test
// helper cannot have it passed in. Everything in it is guarded by its mutex
// or is a channel.
var shared = &sharedServer{dbs: make(chan int, databases)}

type sharedServer struct {
	mu      sync.Mutex
	inMain  bool     // Main is running the tests, so the server will be stopped
	args    []string // extra redis-server arguments, from Main
	started bool
	err     error
	srv     *Server
	admin   *redis.Client
	dbs     chan int // free database indexes
}

// Main runs the tests of a package, then stops the shared server (if one was
// started) and exits with the tests' status. Call it from TestMain. args are
// extra redis-server arguments for the shared server, as for Dedicated; the
// miniredis fallback ignores them.
func Main(m *testing.M, args ...string) {
	shared.mu.Lock()
	shared.inMain = true
	shared.args = args
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	if shared.admin != nil {
		_ = shared.admin.Close()
	}
	if shared.srv != nil {
		if shared.srv.mini != nil {
			shared.srv.mini.Close()
		}
		shared.srv.shutdown()
	}
	shared.mu.Unlock()
	sentinels.stop()
	clusters.stop()
	os.Exit(code)
}

// mainRuns reports whether Main is running the tests, so what a test starts
// will be stopped.
func (s *sharedServer) mainRuns() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inMain
}

// URL returns redis://127.0.0.1:PORT/N for a database N of the shared server
// that is empty and belongs to this test until it ends (then it is flushed
// and handed to the next test). When all 16 databases are in use, URL waits
// for one to be released.
func URL(t testing.TB) string {
	t.Helper()
	srv, admin := shared.get(t)

	var db int
	select {
	case db = <-shared.dbs:
	case <-t.Context().Done():
		t.Fatalf("redistest: test ended while waiting for a free database")
	}
	url := fmt.Sprintf("redis://%s/%d", srv.Addr(), db)
	if err := flushDB(t.Context(), admin, db); err != nil {
		shared.dbs <- db
		t.Fatalf("redistest: flush database %d: %v", db, err)
	}
	t.Cleanup(func() {
		// A fresh context: the test's own is already cancelled here.
		if err := flushDB(context.Background(), admin, db); err != nil {
			t.Errorf("redistest: flush database %d after the test: %v", db, err)
		}
		shared.dbs <- db
	})
	return url
}

// get starts the shared server on first use and returns it with an admin
// client used for flushing databases.
func (s *sharedServer) get(t testing.TB) (*Server, *redis.Client) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inMain {
		t.Fatalf("redistest: call redistest.Main(m) from TestMain so the shared redis-server is stopped after the tests")
	}
	if !s.started {
		s.started = true
		s.srv, s.err = startShared(s.args)
		if s.err == nil {
			s.admin = redis.NewClient(&redis.Options{Addr: s.srv.Addr(), Protocol: 2})
			for i := range databases {
				s.dbs <- i
			}
		}
	}
	if s.err != nil {
		t.Fatalf("redistest: %v", s.err)
	}
	if s.srv.mini != nil {
		t.Logf("redistest: no redis-server on PATH, using embedded miniredis (set %s=1 to forbid)", RequireEnv)
	}
	return s.srv, s.admin
}

// startShared starts the shared real server with args, or miniredis when
// redis-server is missing and that is allowed.
func startShared(args []string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			return nil, fmt.Errorf("no redis-server on PATH and %s=1: install redis-server (apt-get install redis-server)", RequireEnv)
		}
		fmt.Fprintln(os.Stderr, "redistest: no redis-server on PATH, falling back to embedded miniredis")
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start miniredis: %w", err)
		}
		return &Server{mini: m, addr: m.Addr()}, nil
	}
	s := &Server{bin: bin, args: args}
	if err := s.startFresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// flushDB empties one database of the shared server.
func flushDB(ctx context.Context, admin *redis.Client, db int) error {
	conn := admin.Conn()
	defer conn.Close()
	if err := conn.Select(ctx, db).Err(); err != nil {
		return err
	}
	return conn.FlushDB(ctx).Err()
}

// need returns the path of bin, or skips the test naming what is missing
// (failing it under MAILPROOF_TEST_REQUIRE_REDIS=1). pkg is the Debian
// package that holds bin.
func need(t testing.TB, what, bin, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err == nil {
		return path
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("redistest: %s needs %s on PATH and %s=1: install it (apt-get install %s)", what, bin, RequireEnv, pkg)
	}
	t.Skipf("redistest: %s needs %s on PATH (Debian: apt-get install %s); skipped", what, bin, pkg)
	return ""
}

// Spawn starts cmd the way the helpers start their servers: on Linux from one OS thread
// that lives as long as the test binary, with Pdeathsig, so the child is killed when the
// binary dies (a panic, a go test timeout) and never before. Other harnesses that start
// long-lived children (the chaos suite's mailproof replicas) use it for the same reason.
func Spawn(cmd *exec.Cmd) error { return spawn(cmd) }
