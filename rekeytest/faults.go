package rekeytest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults configures random fault injection, to make a [Server] behave like a
// real service on a bad day. The zero value injects nothing.
//
// Faults apply to every request except POST /v1/keys, unless KeyEndpoint is
// set. Each request's fate is drawn when it arrives, from a generator seeded
// by [WithSeed]; a request is first delayed (Delay plus up to Jitter), then
// dropped (DropRate), else answered 503 (UnavailableRate), else served.
type Faults struct {
	// UnavailableRate is the fraction of requests, in [0, 1], answered
	// 503 Service Unavailable with a JSON error body.
	UnavailableRate float64
	// RetryAfter is sent with those 503s as a Retry-After header, in whole
	// seconds rounded up. Zero sends no Retry-After.
	RetryAfter time.Duration
	// DropRate is the fraction of requests, in [0, 1], whose connection is
	// closed with no response at all, so the client sees a transport error.
	DropRate float64
	// Delay is added before every request is answered. The wait ends early,
	// with no answer, when the client gives up (its request context ends)
	// or the server closes.
	Delay time.Duration
	// Jitter adds a further random delay in [0, Jitter) to each request, to
	// shuffle the order in which concurrent requests are answered.
	Jitter time.Duration
	// KeyEndpoint extends the faults (not [Server.FailNext]) to
	// POST /v1/keys, so that minting keys fails too.
	KeyEndpoint bool
}

// check reports the first invalid field of f, in an error prefixed with
// "rekeytest: " and caller, the function that was given f.
func (f Faults) check(caller string) error {
	switch {
	case !(f.UnavailableRate >= 0 && f.UnavailableRate <= 1): // also rejects NaN
		return fmt.Errorf("rekeytest: %s: UnavailableRate %v is outside [0, 1]", caller, f.UnavailableRate)
	case !(f.DropRate >= 0 && f.DropRate <= 1):
		return fmt.Errorf("rekeytest: %s: DropRate %v is outside [0, 1]", caller, f.DropRate)
	case f.RetryAfter < 0:
		return fmt.Errorf("rekeytest: %s: RetryAfter %v is negative", caller, f.RetryAfter)
	case f.Delay < 0:
		return fmt.Errorf("rekeytest: %s: Delay %v is negative", caller, f.Delay)
	case f.Jitter < 0:
		return fmt.Errorf("rekeytest: %s: Jitter %v is negative", caller, f.Jitter)
	}
	return nil
}

// faultState is the mutable fault configuration and its random source.
type faultState struct {
	mu    sync.Mutex
	f     Faults
	rng   *rand.Rand
	burst burst
}

// burst is a pending FailNext.
type burst struct {
	n          int
	status     int
	retryAfter time.Duration
}

// fate is what fault injection decided for one request.
type fate struct {
	delay      time.Duration
	drop       bool
	status     int // non-zero: answer this instead of serving the request
	retryAfter time.Duration
	kind       string // for logs: "burst", "unavailable", "drop"; "" when served
}

// SetFaults replaces the fault configuration; requests that arrive afterwards
// see f. It panics if f is invalid (a rate outside [0, 1] or a negative
// duration). Safe for concurrent use, including while requests are in
// flight.
func (s *Server) SetFaults(f Faults) {
	if err := f.check("SetFaults"); err != nil {
		panic(err.Error())
	}
	s.faults.mu.Lock()
	s.faults.f = f
	s.faults.mu.Unlock()
}

// FailNext makes the next n requests (in arrival order, every endpoint except
// POST /v1/keys) answer status with a JSON error body, and with a Retry-After
// header of retryAfter in whole seconds rounded up when retryAfter > 0. It
// replaces any burst still pending; n == 0 cancels it. Burst answers come at
// once, ahead of and instead of the random [Faults]. A 401 burst answers
// with [InvalidKeyBody], to simulate a spurious rejection of a valid key.
// Burst answers count in [Stats].Faults.Burst, not in Rejections.
//
// It panics unless n >= 0, status is in 400..599 and retryAfter >= 0. Safe
// for concurrent use.
func (s *Server) FailNext(n int, status int, retryAfter time.Duration) {
	if n < 0 || status < 400 || status > 599 || retryAfter < 0 {
		panic(fmt.Sprintf("rekeytest: FailNext(%d, %d, %v): want n >= 0, a 4xx or 5xx status and retryAfter >= 0", n, status, retryAfter))
	}
	s.faults.mu.Lock()
	s.faults.burst = burst{n: n, status: status, retryAfter: retryAfter}
	s.faults.mu.Unlock()
}

// decide draws the fate of a request as it arrives.
func (s *Server) decide(keyEndpoint bool) fate {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !keyEndpoint && fs.burst.n > 0 {
		fs.burst.n--
		return fate{status: fs.burst.status, retryAfter: fs.burst.retryAfter, kind: "burst"}
	}
	f := fs.f
	if keyEndpoint && !f.KeyEndpoint || f == (Faults{}) {
		return fate{}
	}
	var ft fate
	ft.delay = f.Delay
	if f.Jitter > 0 {
		ft.delay += time.Duration(fs.rng.Int64N(int64(f.Jitter)))
	}
	drop, unavailable := fs.rng.Float64(), fs.rng.Float64()
	switch {
	case drop < f.DropRate:
		ft.drop, ft.kind = true, "drop"
	case unavailable < f.UnavailableRate:
		ft.status, ft.retryAfter, ft.kind = http.StatusServiceUnavailable, f.RetryAfter, "unavailable"
	}
	return ft
}

// inject carries out ft. It reports whether the request was dealt with (and
// must not be served).
func (s *Server) inject(w http.ResponseWriter, r *http.Request, ft fate) bool {
	if ft.delay > 0 {
		s.stats.delayed.Add(1)
		t := time.NewTimer(ft.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			s.log(w, r, 0, "client gave up during injected delay")
			s.drop(w)
			return true
		case <-s.done:
			s.log(w, r, 0, "server closed during injected delay")
			s.drop(w) // never an empty 200
			return true
		}
	}
	switch {
	case ft.drop:
		s.stats.dropped.Add(1)
		s.log(w, r, 0, ft.kind)
		s.drop(w)
		return true
	case ft.status != 0:
		if ft.kind == "burst" {
			s.stats.burst.Add(1)
		} else {
			s.stats.unavailable.Add(1)
		}
		if ft.retryAfter > 0 {
			w.Header().Set("Retry-After", retryAfterSeconds(ft.retryAfter))
		}
		if ft.status == http.StatusUnauthorized {
			s.writeRaw(w, r, ft.status, []byte(InvalidKeyBody), ft.kind)
		} else {
			s.writeError(w, r, ft.status, http.StatusText(ft.status), "Injected by rekeytest; retry later.", ft.kind)
		}
		return true
	}
	return false
}

// drop closes the connection without writing a response. Close waits for
// it: the connection is active when it starts, so httptest's Close cannot
// return before the Add below.
func (s *Server) drop(w http.ResponseWriter) {
	s.hijacks.Add(1)
	defer s.hijacks.Done()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): aborting the handler resets the stream,
		// and the client again gets no response.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// retryAfterSeconds renders d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	secs := (d + time.Second - 1) / time.Second
	return strconv.FormatInt(int64(max(secs, 1)), 10)
}
