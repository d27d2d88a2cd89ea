package gcpsm_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// client, a server or a Cache poll left running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
