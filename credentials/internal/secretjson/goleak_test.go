package secretjson

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine is still running after
// the last test: every goroutine a test starts, the library's or the test's
// own, must have stopped by then.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
