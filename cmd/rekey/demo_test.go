package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestDemoRunsAndSummarizes(t *testing.T) {
	code, stdout, stderr := runCmd(t, "demo", "--duration", "1s")
	if code != 0 {
		t.Fatalf("demo: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"Summary after", "requests", "key rejections", "recovered by refresh and replay", "refreshes",
		"transient retries", "failures", "lost                      0", "latency", "p50 ", "p99 ",
		"OK: no request lost",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// stderr is a buffer, not a terminal: plain progress lines, no \r.
	if strings.Contains(stderr, "\r") || !strings.Contains(stderr, " req ") {
		t.Errorf("progress on a non-terminal should be plain lines, got %q", stderr)
	}
}

func TestDemoNeverPrintsAKey(t *testing.T) {
	cfg, code, stop := parseDemo([]string{"--duration", "700ms", "--key-ttl", "100ms", "--revoke-every", "50ms", "--fault-rate", "0.2"}, new(bytes.Buffer), new(bytes.Buffer))
	if stop {
		t.Fatalf("parseDemo: exit %d", code)
	}
	var mu sync.Mutex
	var keys []string
	cfg.onKey = func(k string) { mu.Lock(); keys = append(keys, k); mu.Unlock() }
	var stdout, stderr bytes.Buffer
	if code := runDemo(cfg, &stdout, &stderr); code != 0 {
		t.Errorf("demo: exit %d, want 0\n%s%s", code, stdout.String(), stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) < 3 {
		t.Fatalf("the service issued %d keys; want several (TTL 100ms over 700ms)", len(keys))
	}
	assertNoKeys(t, stdout.String()+stderr.String(), keys...)
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "0s"},
		{"--workers", "0"},
		{"--key-ttl", "1ms"},
		{"--fault-rate", "1.5"},
		{"--revoke-every", "-1s"},
		{"--pool", "1"},
		{"--pool", "17"},
		{"extra"},
	} {
		code, stdout, stderr := runCmd(t, append([]string{"demo"}, args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "rekey demo --help") {
			t.Errorf("demo %v: exit %d, stdout %q, stderr %q; want 2 and a pointer to --help", args, code, stdout, stderr)
		}
	}
}

// With --pool, the demo runs with a credentials.Pool: revocations of the key
// in use are recovered by failing over to another key, no request is lost,
// and no key is printed.
func TestDemoWithPool(t *testing.T) {
	cfg, code, stop := parseDemo([]string{"--duration", "1s", "--pool", "2", "--revoke-every", "50ms"}, new(bytes.Buffer), new(bytes.Buffer))
	if stop {
		t.Fatalf("parseDemo: exit %d", code)
	}
	var mu sync.Mutex
	var keys []string
	cfg.onKey = func(k string) { mu.Lock(); keys = append(keys, k); mu.Unlock() }
	var stdout, stderr bytes.Buffer
	if code := runDemo(cfg, &stdout, &stderr); code != 0 {
		t.Fatalf("demo --pool 2: exit %d, want 0\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"a pool of 2 keys", "recovered by failover to another key", "lost                      0", "OK: no request lost"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	var rejections, failovers int
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "key rejections") {
			fmt.Sscanf(strings.TrimSpace(line), "key rejections %d %d recovered by failover", &rejections, &failovers)
		}
	}
	if failovers == 0 {
		t.Errorf("no failover in a second with a revocation every 50ms:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	assertNoKeys(t, out+stderr.String(), keys...)
	t.Logf("demo --pool 2: %d rejections, %d recovered by failover", rejections, failovers)
}
