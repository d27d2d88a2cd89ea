// Package testwait bounds the waits of rekey's tests. A test that waits on a
// channel, a WaitGroup or a condition with no bound turns a regression into a
// hang until the 10-minute test timeout (and, under mutation testing, into a
// timed-out mutant rather than a killed one); with these helpers it fails in
// seconds, saying what it was waiting for.
//
// Every helper takes the bound explicitly: [Timeout] for the usual case, a
// longer one for a soak. When a wait times out the helper fails the test
// with t.Fatalf, so it must be called from the test's goroutine. A
// goroutine started to wait (for a WaitGroup, say) is left behind after a
// failure: the test has failed anyway, and goleak names it.
package testwait

import (
	"io"
	"sync"
	"testing"
	"time"
)

// Timeout is the usual bound: far longer than any event these tests wait
// for takes on a loaded machine, far shorter than the test timeout.
const Timeout = 10 * time.Second

// Recv returns the next value received from ch (the zero value once ch is
// closed). It fails the test if none comes within d.
func Recv[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
	var zero T
	return zero
}

// Send sends v on ch. It fails the test if nobody takes it within d.
func Send[T any](t testing.TB, ch chan<- T, v T, d time.Duration, what string) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case ch <- v:
	case <-timer.C:
		t.Fatalf("timed out after %v waiting to hand over %s", d, what)
	}
}

// Group waits for wg. It fails the test if wg's count does not reach zero
// within d.
func Group(t testing.TB, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	Do(t, d, what, wg.Wait)
}

// Do calls fn (a Close, a cmd.Wait) and waits for it to return. It fails
// the test if fn does not return within d.
func Do(t testing.TB, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	Recv(t, done, d, what)
}

// Until polls cond every millisecond until it holds. It fails the test if
// cond does not hold within d.
func Until(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// maxEmptyReads is how many reads in a row may return nothing before
// [Progressing] gives up, as bufio.Scanner does.
const maxEmptyReads = 100

// Progressing wraps r so that reading it to the end cannot spin forever: a
// Read that returns no bytes and no error, maxEmptyReads times in a row,
// fails with io.ErrNoProgress. io.ReadAll over a broken body (one that
// always returns 0, nil) then fails the test instead of hanging it.
func Progressing(r io.Reader) io.Reader { return &progressing{r: r} }

type progressing struct {
	r     io.Reader
	empty int
}

func (p *progressing) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 || err != nil || len(b) == 0 {
		p.empty = 0
		return n, err
	}
	if p.empty++; p.empty >= maxEmptyReads {
		return 0, io.ErrNoProgress
	}
	return 0, nil
}
