//go:build !linux

package redistest

import "os/exec"

// spawn starts the child; outside Linux there is no Pdeathsig, so a test
// binary that dies without running Main's cleanup can leave a redis-server
// behind.
func spawn(cmd *exec.Cmd) error { return cmd.Start() }
