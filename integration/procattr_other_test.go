//go:build !linux

package integration

import "os/exec"

// dieWithParent does nothing outside Linux: the test's cleanup stops the
// processes it started.
func dieWithParent(cmd *exec.Cmd) {}
