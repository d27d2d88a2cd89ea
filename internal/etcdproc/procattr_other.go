//go:build !linux

package etcdproc

import "syscall"

// dieWithParent is a no-op where Pdeathsig does not exist: the test's
// cleanup stops the child itself.
func dieWithParent() *syscall.SysProcAttr { return nil }
