package redisstore

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The Redis-down tests fail dials on purpose; their output must not be
// littered with go-redis's own "failed to dial" lines. They run here in a
// child process whose whole output is checked.
func TestRedisDownTestsPrintNothingOfGoRedis(t *testing.T) {
	if os.Getenv(envWorker) != "" {
		t.Skip("not inside a fleet worker")
	}
	if testing.Short() {
		t.Skip("re-runs the test binary; skipped in -short mode")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^(TestRedisDownFallsBackLocally|TestCancelledContextDoesNotFallBack)$", "-test.v", "-test.count=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Redis-down tests failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestRedisDownFallsBackLocally") {
		t.Fatalf("the Redis-down tests did not run:\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "redis: ") || strings.Contains(line, "failed to dial") {
			t.Errorf("go-redis logged in the test output: %s", line)
		}
	}
}
