package rekeytest_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// serverGoroutines returns the stacks of goroutines running the server side
// of a Server: a handler or background rotation. (Client-side methods such
// as Client and Refresh run on the caller's goroutine and do not count.)
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "rekeytest.(*Server).serveHTTP") || strings.Contains(g, "rekeytest.(*Server).rotateLoop") {
			found = append(found, g)
		}
	}
	return found
}

func TestCloseLeavesNoServerGoroutine(t *testing.T) {
	srv := rekeytest.NewServer(rekeytest.WithRotateEvery(time.Millisecond))
	t.Cleanup(srv.Close)
	key := srv.IssueKey().Key
	send(t, srv, "GET", "/v1/echo", bearer, key, "")
	if len(serverGoroutines()) == 0 {
		t.Fatal("no goroutine runs Server code before Close: this test could not fail")
	}
	srv.Close()
	// Close waits for its goroutines to be done; a goroutine that is done
	// may still be returning (its WaitGroup.Done ran in a deferred call)
	// when Close returns, so give the exits a bounded moment. One that
	// keeps running fails.
	deadline := time.Now().Add(5 * time.Second)
	g := serverGoroutines()
	for ; len(g) != 0 && time.Now().Before(deadline); g = serverGoroutines() {
		time.Sleep(time.Millisecond)
	}
	if len(g) != 0 {
		t.Fatalf("%d goroutines run Server code 5 s after Close:\n%s", len(g), strings.Join(g, "\n\n"))
	}
	rotations := srv.Stats().Rotations
	time.Sleep(5 * time.Millisecond) // five rotation periods
	if got := srv.Stats().Rotations; got != rotations {
		t.Errorf("rotations went on after Close: %d, then %d", rotations, got)
	}
	srv.Close() // idempotent
	if _, err := trySend(t.Context(), srv, "GET", "/v1/echo", bearer, key, ""); err == nil {
		t.Error("a request succeeded after Close")
	}
}

func TestCloseWithRequestsInFlight(t *testing.T) {
	srv := rekeytest.NewServer(rekeytest.WithFaults(rekeytest.Faults{Jitter: 20 * time.Millisecond, DropRate: 0.3}))
	t.Cleanup(srv.Close)
	key := srv.IssueKey().Key
	done := make(chan struct{})
	for i := 0; i < 50; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			a, err := trySend(t.Context(), srv, "GET", "/v1/echo", bearer, key, "")
			if err == nil && a.status != http.StatusOK {
				t.Errorf("status %d %s: want 200 or a transport error", a.status, a.body)
			}
		}()
	}
	testwait.Until(t, testwait.Timeout, "10 requests to reach the server", func() bool { return srv.Stats().Requests >= 10 })
	srv.Close()
	if g := serverGoroutines(); len(g) != 0 {
		t.Errorf("%d goroutines run Server code after Close:\n%s", len(g), strings.Join(g, "\n\n"))
	}
	for i := 0; i < 50; i++ {
		testwait.Recv(t, done, testwait.Timeout, fmt.Sprintf("request %d of 50 to end", i+1))
	}
}
