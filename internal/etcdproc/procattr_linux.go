package etcdproc

import "syscall"

// dieWithParent makes a child process (the tests' etcd) receive SIGKILL when
// the test binary dies, even if it is killed or times out.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
