package redistest

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// spawner starts child processes from one goroutine locked to its OS thread
// for the life of the test binary. Pdeathsig fires when the thread that
// forked the child dies, so forking from a thread that never exits makes the
// kernel kill every redis-server exactly when the test binary dies, even
// when a panic or a go test timeout skips Main's cleanup.
type spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

// spawns is package state for the same reason as shared: one locked thread
// per test binary.
var spawns = &spawner{}

func spawn(cmd *exec.Cmd) error {
	spawns.once.Do(func() {
		spawns.reqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must outlive every child
			for r := range spawns.reqs {
				r.err <- r.cmd.Start()
			}
		}()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	req := spawnReq{cmd: cmd, err: make(chan error, 1)}
	spawns.reqs <- req
	return <-req.err
}
