//go:build linux

package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mailproof/mailproof/store/redistest"
)

// buildMailproof builds the mailproof binary once into dir, as `make build`
// would, and returns its path.
func buildMailproof(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "mailproof")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/mailproof/mailproof/cmd/mailproof")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// replica is one `mailproof serve` process; it keeps its ports across kills,
// as a pod behind a Service keeps its address.
type replica struct {
	name    string
	bin     string
	env     []string
	listen  string
	ops     string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func newReplica(name, bin, dir string, env map[string]string) (*replica, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	ops, err := freeAddr()
	if err != nil {
		return nil, err
	}
	r := &replica{name: name, bin: bin, listen: listen, ops: ops, logPath: filepath.Join(dir, name+".log")}
	full := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for k, v := range env {
		full[k] = v
	}
	full["MAILPROOF_LISTEN"], full["MAILPROOF_OPS_LISTEN"] = listen, ops
	for k, v := range full {
		r.env = append(r.env, k+"="+v)
	}
	sort.Strings(r.env)
	return r, nil
}

// Start runs the process, appending its log to the replica's log file.
func (r *replica) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		select {
		case <-r.done: // it exited on its own: start it again
		default:
			return nil
		}
	}
	f, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = f, f
	if err := redistest.Spawn(cmd); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", r.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	r.cmd, r.done = cmd, done
	return nil
}

// Kill is kill -9: no shutdown grace, jobs in hand are left for another
// replica to reclaim.
func (r *replica) Kill() {
	r.signal(true)
}

// Stop is SIGTERM and a wait: the clean shutdown at the end of a phase.
func (r *replica) Stop() {
	r.signal(false)
}

func (r *replica) signal(kill bool) {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	if kill {
		_ = cmd.Process.Kill()
	} else {
		_ = cmd.Process.Signal(os.Interrupt)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Running reports whether the process is up (it may have exited on its own:
// the log says why).
func (r *replica) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return false
	}
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// WaitReady polls /readyz until it answers 200.
func (r *replica) WaitReady(ctx context.Context) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.ops+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !r.Running() {
			return fmt.Errorf("%s exited before it was ready; see %s", r.name, r.logPath)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; see %s", r.name, ctx.Err(), r.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
