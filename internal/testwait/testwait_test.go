package testwait_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rekeyhq/rekey/internal/testwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a testing.TB whose Fatalf records the failure and ends the
// calling goroutine, as testing.T's does.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls f with a recorder on a goroutine of its own, as the testing
// package runs a test, and returns what it failed with ("" if nothing).
func run(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	select {
	case <-done:
	case <-time.After(testwait.Timeout):
		t.Fatal("a helper did not return within its bound")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// short is the bound for the waits that must time out.
const short = 20 * time.Millisecond

// Each helper returns at once when the awaited event happens, and fails,
// naming what it waited for, when it does not.
func TestHelpers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		happens  func(tb testing.TB)
		never    func(tb testing.TB)
		contains string
	}{
		{"Recv",
			func(tb testing.TB) {
				ch := make(chan int, 1)
				ch <- 7
				if v := testwait.Recv(tb, ch, short, "a value"); v != 7 {
					tb.Fatalf("Recv = %d, want 7", v)
				}
			},
			func(tb testing.TB) { testwait.Recv(tb, make(chan int), short, "a value") },
			"waiting for a value"},
		{"Send",
			func(tb testing.TB) { testwait.Send(tb, make(chan int, 1), 7, short, "a value") },
			func(tb testing.TB) { testwait.Send(tb, make(chan int), 7, short, "a value") },
			"waiting to hand over a value"},
		{"Group",
			func(tb testing.TB) {
				var wg sync.WaitGroup
				wg.Add(1)
				go wg.Done()
				testwait.Group(tb, &wg, testwait.Timeout, "the workers")
			},
			func(tb testing.TB) {
				var wg sync.WaitGroup
				wg.Add(1)
				defer wg.Done() // after the check: the waiting goroutine ends too
				testwait.Group(tb, &wg, short, "the workers")
			},
			"waiting for the workers"},
		{"Do",
			func(tb testing.TB) { testwait.Do(tb, testwait.Timeout, "Close", func() {}) },
			func(tb testing.TB) {
				release := make(chan struct{})
				defer close(release)
				testwait.Do(tb, short, "Close", func() { <-release })
			},
			"waiting for Close"},
		{"Until",
			func(tb testing.TB) {
				n := 0
				testwait.Until(tb, testwait.Timeout, "three calls", func() bool { n++; return n == 3 })
			},
			func(tb testing.TB) { testwait.Until(tb, short, "a condition", func() bool { return false }) },
			"waiting for a condition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := run(t, tc.happens); msg != "" {
				t.Errorf("the event happened, yet: %s", msg)
			}
			msg := run(t, tc.never)
			if !strings.Contains(msg, tc.contains) || !strings.Contains(msg, short.String()) {
				t.Errorf("the event never happened: failure %q; want one saying %q after %v", msg, tc.contains, short)
			}
		})
	}
}

// stuck is a reader that always returns nothing and no error.
type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

// Progressing passes a reader's bytes through and ends a read that makes
// no progress.
func TestProgressing(t *testing.T) {
	b, err := io.ReadAll(testwait.Progressing(strings.NewReader("whole body")))
	if err != nil || string(b) != "whole body" {
		t.Errorf("ReadAll = %q, %v; want the whole body", b, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(testwait.Progressing(stuck{}))
		done <- err
	}()
	if err := testwait.Recv(t, done, testwait.Timeout, "ReadAll of a stuck reader to return"); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("ReadAll of a stuck reader: %v; want io.ErrNoProgress", err)
	}
}
