package sdks_test

import (
	"testing"

	"go.opencensus.io/stats/view"
	"go.uber.org/goleak"

	"github.com/rekeyhq/rekey"
)

// TestMain fails the package's tests when a goroutine is still running after
// the last test: every goroutine a test starts, the library's or the test's
// own, must have stopped by then. Before that check it closes the idle
// connections of the pool that rekey's Clients share
// (rekey.CloseIdleConnections): they are kept for reuse, as net/http keeps
// http.DefaultTransport's, not leaked, and their goroutines end with them.
//
// It also stops OpenCensus's stats worker, which go.opencensus.io/stats/view
// starts in its package init, once per process (google.golang.org/genai
// pulls it in through cloud.google.com/go/auth/httptransport): no test
// starts it, and view.Stop is its documented way to end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(runThen{m, func() {
		rekey.CloseIdleConnections()
		view.Stop()
	}})
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
