//go:build !linux

package redisstore

import "syscall"

// dieWithParent is a no-op where Pdeathsig does not exist: TestMain stops
// the child itself.
func dieWithParent() *syscall.SysProcAttr { return nil }
