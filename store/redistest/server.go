package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// readyTimeout bounds how long a starting redis-server may take to answer
// PING; it only matters when something is badly wrong.
const readyTimeout = 10 * time.Second

// Server is one redis-server process (or, as a fallback, one miniredis) on a
// loopback port that stays the same across Stop and Start.
type Server struct {
	t    testing.TB // nil for the shared server
	bin  string
	conf string // a configuration file to pass first, "" for none
	args []string
	// clusterPort makes startFresh pick a port whose cluster bus port
	// (port+10000) is free too.
	clusterPort bool
	addr        string
	dir         string
	mini        *miniredis.Miniredis

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *syncBuffer
}

// Dedicated starts a redis-server for this test alone, with extra
// command-line arguments (for example "--maxmemory-policy", "allkeys-lru"),
// and kills it when the test ends. Use it for tests that stop, restart or
// freeze Redis. Under the miniredis fallback, tests that pass arguments are
// skipped: miniredis cannot honour them.
func Dedicated(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("redistest: no redis-server on PATH and %s=1", RequireEnv)
		}
		if len(args) > 0 {
			t.Skipf("redistest: needs a real redis-server for %q", args)
		}
		t.Logf("redistest: no redis-server on PATH, using embedded miniredis (set %s=1 to forbid)", RequireEnv)
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			t.Fatalf("redistest: start miniredis: %v", err)
		}
		t.Cleanup(m.Close)
		return &Server{t: t, mini: m, addr: m.Addr()}
	}
	s := &Server{t: t, bin: bin, args: args}
	if err := s.startFresh(); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.shutdown)
	return s
}

// Addr returns host:port of the server.
func (s *Server) Addr() string { return s.addr }

// URL returns the redis:// URL of database 0 of the server.
func (s *Server) URL() string { return "redis://" + s.addr + "/0" }

// Stop kills the server the way a crash would (SIGKILL, no persistence), so
// clients see connection errors until Start.
func (s *Server) Stop() {
	if s.mini != nil {
		s.mini.Close()
		return
	}
	s.stop()
}

// Start starts a stopped server again on the same port, empty, the way a
// restarted Redis without persistence comes back.
func (s *Server) Start() {
	s.t.Helper()
	if s.mini != nil {
		s.mini.FlushAll()
		if err := s.mini.Restart(); err != nil {
			s.t.Fatalf("redistest: restart miniredis: %v", err)
		}
		return
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
}

// Restart is Stop then Start.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// Pause freezes the process (SIGSTOP): connections stay open but nothing
// answers, the hardest failure for a client's timeouts. Resume undoes it;
// the test's cleanup kills a frozen server too.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if s.mini != nil {
		s.t.Skipf("redistest: miniredis cannot be paused")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// startFresh picks a free port and starts the server, trying a few ports
// because another process may take the port between probe and start.
func (s *Server) startFresh() error {
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "redistest-")
		if err != nil {
			return err
		}
		s.dir = dir
	}
	var errs []error
	for range 5 {
		pick := freePort
		if s.clusterPort {
			pick = freeClusterPort
		}
		port, err := pick()
		if err != nil {
			return err
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		err = s.start()
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	_ = os.RemoveAll(s.dir)
	return errors.Join(errs...)
}

// start runs redis-server on s.addr and waits until it answers PING.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.addr)
	var args []string
	if s.conf != "" {
		args = append(args, s.conf) // redis-server takes its file first
	}
	args = append(args,
		"--port", port,
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	)
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done, s.out = cmd, done, out
	s.mu.Unlock()

	if err := waitReady(s.addr, done); err != nil {
		s.stop()
		return fmt.Errorf("redis-server on %s: %w; output: %s", s.addr, err, out.String())
	}
	return nil
}

// stop kills the process and waits for it; the data directory is removed
// only by the final cleanup.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// shutdown stops the server for good and removes its data directory.
func (s *Server) shutdown() {
	s.stop()
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}
