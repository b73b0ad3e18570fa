package chaos

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// spawner starts the mailproof replicas from one goroutine locked to its OS
// thread for the life of the test binary: Pdeathsig fires when the thread that
// forked a child dies, so forking from a thread that never exits kills every
// replica exactly when the test binary dies (a panic, a go test timeout), and
// never before.
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must outlive every child
			for r := range spawner.reqs {
				r.err <- r.cmd.Start()
			}
		}()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	req := spawnReq{cmd: cmd, err: make(chan error, 1)}
	spawner.reqs <- req
	return <-req.err
}
