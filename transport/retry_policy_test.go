package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// The backoff before retry n is lo·2^(n-1), capped at hi, then randomised
// down by up to half: within [d/2, d], spread over it. MinWait and MaxWait
// default when zero or negative, and a cap near the largest Duration does
// not overflow.
func TestRetryWaitBackoff(t *testing.T) {
	const huge = time.Duration(1 << 62)
	for _, tc := range []struct {
		name     string
		min, max time.Duration
		n        int
		d        time.Duration
	}{
		{"defaults, first retry", 0, 0, 1, DefaultMinWait},
		{"defaults, second", 0, 0, 2, 2 * DefaultMinWait},
		{"defaults, third", 0, 0, 3, 4 * DefaultMinWait},
		{"defaults, capped", 0, 0, 7, DefaultMaxWait},
		{"defaults, far past the cap", 0, 0, 100, DefaultMaxWait},
		{"negative means default", -1, -1, 2, 2 * DefaultMinWait},
		{"set", time.Second, 3 * time.Second, 2, 2 * time.Second},
		{"set, capped", time.Second, 3 * time.Second, 3, 3 * time.Second},
		{"a nanosecond", 1, 1, 1, 1},
		{"the cap near the largest Duration", huge, huge, 3, huge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := RetryPolicy{MinWait: tc.min, MaxWait: tc.max}
			seen := map[time.Duration]bool{}
			for range 200 {
				got := p.wait(tc.n, nil)
				if got < tc.d/2 || got > tc.d {
					t.Fatalf("wait(%d) = %v; want between %v and %v", tc.n, got, tc.d/2, tc.d)
				}
				seen[got] = true
			}
			if tc.d >= time.Millisecond && len(seen) < 20 {
				t.Errorf("wait(%d): %d distinct values in 200; want them spread (jitter)", tc.n, len(seen))
			}
		})
	}
}

// A Retry-After at the cap (MaxRetryAfter, or DefaultMaxRetryAfter when
// zero) is honoured; above it the response is not retried; "0" means now.
func TestRetryAfterBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		maxAfter   time.Duration
		retried    bool
		wait       time.Duration
	}{
		{"at the cap", "10", 10 * time.Second, true, 10 * time.Second},
		{"above the cap", "11", 10 * time.Second, false, 0},
		{"at the default cap", "30", 0, true, DefaultMaxRetryAfter},
		{"above the default cap", "120", 0, false, 0},
		{"zero: at once", "0", 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := RetryPolicy{MinWait: time.Millisecond, MaxWait: 4 * time.Millisecond, MaxRetryAfter: tc.maxAfter}
			resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {tc.retryAfter}}}
			if got := p.retry(context.Background(), resp, nil); got != tc.retried {
				t.Fatalf("retry = %v, want %v", got, tc.retried)
			}
			if tc.retried {
				if got := p.wait(1, resp); got != tc.wait {
					t.Errorf("wait = %v, want exactly the %v asked for", got, tc.wait)
				}
			}
		})
	}
}

// MaxAttempts 1 turns retrying off: one request, whatever the answer.
func TestMaxAttemptsOneSendsOnce(t *testing.T) {
	srv := newScript(t, 503, 200)
	p := fastPolicy
	p.MaxAttempts = 1
	resp, err := send(t, stack(p, credentials.Static(retryOldKey), nil, nil), "GET", srv.URL+"/things", nil, nil)
	if err != nil || resp.StatusCode != 503 || srv.calls.Load() != 1 {
		t.Fatalf("got %v, %v after %d requests; want the 503 after one", resp, err, srv.calls.Load())
	}
}

// Each retry event names the attempt that failed: 1, 2, 3.
func TestRetryEventsNumberTheAttempts(t *testing.T) {
	srv := newScript(t, 503, 503, 503, 200)
	var events []RetryEvent
	if _, err := send(t, stack(fastPolicy, credentials.Static(retryOldKey), nil, &events), "GET", srv.URL+"/things", nil, nil); err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, ev := range events {
		got = append(got, ev.Attempt)
	}
	if !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("events for attempts %v, want [1 2 3]", got)
	}
}

// signer is a RoundTripper that reads the whole body to sign it before
// sending it on, as AWS Signature Version 4 and HTTP message signatures do.
type signer struct{ base http.RoundTripper }

func (s signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	sum := sha256.Sum256(body)
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.Header.Set("X-Content-Sha256", hex.EncodeToString(sum[:]))
	return s.base.RoundTrip(out)
}

// Each attempt gets the whole body to read, from Request.GetBody, not the
// one the first attempt consumed: a Base that reads the body itself (here,
// to sign it) sees it on every retry. (net/http's Transport alone would
// hide the difference: it rewinds a consumed body through GetBody.)
func TestRetryGivesEachAttemptTheWholeBody(t *testing.T) {
	var mu sync.Mutex
	var signed []bool
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		mu.Lock()
		signed = append(signed, string(body) == `{"name":"x"}` && r.Header.Get("X-Content-Sha256") == hex.EncodeToString(sum[:]))
		calls++
		n := calls
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	c := &http.Client{Transport: &Retry{Base: signer{base}, Policy: fastPolicy}}
	if _, err := send(t, c, "PUT", srv.URL+"/things/1", []byte(`{"name":"x"}`), nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(signed, []bool{true, true, true}) {
		t.Errorf("body and signature matched per attempt: %v; want true on each of 3 attempts", signed)
	}
}

// Adding an Idempotency-Key keeps the request's other headers.
func TestIdempotencyKeyKeepsOtherHeaders(t *testing.T) {
	var mu sync.Mutex
	var traces []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		traces = append(traces, r.Header.Get("X-Trace")+"|"+r.Header.Get(IdempotencyKeyHeader))
		n := len(traces)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	p := fastPolicy
	p.IdempotencyKeys = true
	const trace = "trace-4f2a"
	if _, err := send(t, stack(p, credentials.Static(retryOldKey), nil, nil), "POST", srv.URL+"/payments", []byte(`{}`), http.Header{"X-Trace": {trace}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(traces) != 2 {
		t.Fatalf("%d requests, want 2", len(traces))
	}
	for i, tr := range traces {
		if got, key, _ := strings.Cut(tr, "|"); got != trace || key == "" {
			t.Errorf("attempt %d: X-Trace %q, Idempotency-Key %q; want %q and a key", i+1, got, key, trace)
		}
	}
}
