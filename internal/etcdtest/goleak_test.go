package etcdtest

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/rekeyhq/rekey"
)

// TestMain fails the package's tests when a goroutine is still running after
// the last test: every goroutine a test starts, the library's or the test's
// own, must have stopped by then. Before that check it closes the idle
// connections of the pool that rekey's Clients share
// (rekey.CloseIdleConnections): they are kept for reuse, as net/http keeps
// http.DefaultTransport's, not leaked, and their goroutines end with them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(runThen{m, rekey.CloseIdleConnections})
}

// runThen runs the tests, then after.
type runThen struct {
	m     *testing.M
	after func()
}

func (r runThen) Run() int {
	code := r.m.Run()
	r.after()
	return code
}
