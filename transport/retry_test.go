package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

const (
	retryOldKey = "rk_test_RETRYOLDOLDOLD0001"
	retryNewKey = "rk_test_RETRYNEWNEWNEW0002"
)

// fastPolicy retries quickly, so that the tests do not sleep.
var fastPolicy = RetryPolicy{MinWait: time.Millisecond, MaxWait: 4 * time.Millisecond}

// script is a loopback API that answers with the next status in its list
// (the last one repeating) and records what it received.
type script struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	header   http.Header // extra response headers for non-2xx answers
	bodies   []string
	keys     []string
	idem     []string
	calls    atomic.Int64
	valid    string // if set, other keys get 401
}

func newScript(t *testing.T, statuses ...int) *script {
	t.Helper()
	s := &script{statuses: statuses, header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *script) serve(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1))
	body, _ := io.ReadAll(r.Body)
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	s.keys = append(s.keys, key)
	s.idem = append(s.idem, r.Header.Get(IdempotencyKeyHeader))
	status := s.statuses[min(n, len(s.statuses))-1]
	valid := s.valid
	s.mu.Unlock()
	w.Header().Set("X-Request-Id", "req-"+strconv.Itoa(n))
	if valid != "" && key != valid {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`)
		return
	}
	if status >= 300 {
		for k, v := range s.header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"error": "unavailable", "message": "try again"}`)
		return
	}
	w.WriteHeader(status)
	io.WriteString(w, `{"ok": true}`)
}

func (s *script) seen() (bodies, keys, idem []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...), append([]string(nil), s.keys...), append([]string(nil), s.idem...)
}

// stack is the layering rekey.Client uses: http.Client → Retry → Transport.
func stack(p RetryPolicy, cred credentials.Provider, refresh credentials.RefreshFunc, events *[]RetryEvent) *http.Client {
	var mu sync.Mutex
	r := &Retry{Base: &Transport{Credentials: cred, Refresh: refresh}, Policy: p}
	if events != nil {
		r.OnRetry = func(ev RetryEvent) { mu.Lock(); *events = append(*events, ev); mu.Unlock() }
	}
	return &http.Client{Transport: r}
}

func send(t *testing.T, c *http.Client, method, url string, body []byte, header http.Header) (*http.Response, error) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if resp != nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestRetryStatuses(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		header    http.Header
		statuses  []int
		wantCalls int64
		wantCode  int   // 0: want an error
		wantErr   error // errors.Is target when wantCode is 0
	}{
		{"503, 503, 200 succeeds on the third attempt", "GET", nil, []int{503, 503, 200}, 3, 200, nil},
		{"502 and 504 are transient", "DELETE", nil, []int{502, 504, 204}, 3, 204, nil},
		{"429 is transient", "PUT", nil, []int{429, 200}, 2, 200, nil},
		{"500 is not retried", "GET", nil, []int{500, 200}, 1, 500, nil},
		{"404 is not retried", "GET", nil, []int{404, 200}, 1, 404, nil},
		{"POST without Idempotency-Key is not retried", "POST", nil, []int{503, 200}, 1, 503, nil},
		{"POST with Idempotency-Key is retried", "POST", http.Header{IdempotencyKeyHeader: {"k-1"}}, []int{503, 200}, 2, 200, nil},
		{"PATCH without Idempotency-Key is not retried", "PATCH", nil, []int{503, 200}, 1, 503, nil},
		{"retries run out after MaxAttempts", "GET", nil, []int{503}, 4, 0, apierr.ErrServer},
		{"rate limit outlasting retries", "GET", nil, []int{429}, 4, 0, apierr.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScript(t, tt.statuses...)
			var events []RetryEvent
			c := stack(fastPolicy, credentials.Static(retryOldKey), nil, &events)
			resp, err := send(t, c, tt.method, srv.URL+"/things?page=2", []byte(`{"n":1}`), tt.header)
			if got := srv.calls.Load(); got != tt.wantCalls {
				t.Errorf("server saw %d attempts, want %d", got, tt.wantCalls)
			}
			if got := int64(len(events)); got != tt.wantCalls-1 {
				t.Errorf("%d retry events, want %d", got, tt.wantCalls-1)
			}
			if tt.wantCode != 0 {
				if err != nil || resp.StatusCode != tt.wantCode {
					t.Fatalf("got %v, %v; want status %d", resp, err, tt.wantCode)
				}
				return
			}
			if resp != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, %v; want an error matching %v", resp, err, tt.wantErr)
			}
			var re *RetryError
			var apiErr *apierr.APIError
			if !errors.As(err, &re) || re.Attempts != 4 || !errors.As(err, &apiErr) {
				t.Fatalf("err = %#v, want a *RetryError of 4 attempts wrapping an *APIError", err)
			}
			if !strings.Contains(err.Error(), "after 4 attempts") || apiErr.RequestID != "req-4" || apiErr.Message != "try again" {
				t.Errorf("error %q (request ID %q) does not describe the last attempt", err, apiErr.RequestID)
			}
		})
	}
}

func TestRetryReplaysBodyAndReadsCurrentKeyEachAttempt(t *testing.T) {
	srv := newScript(t, 503, 503, 200)
	cache := &credentials.Cache{
		Provider: credentials.Static(retryOldKey),
		Refresh: func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: retryNewKey}, nil
		},
	}
	t.Cleanup(func() { cache.Close() })
	// Another goroutine replaces the key after the first attempt.
	r := &Retry{Base: &Transport{Credentials: cache}, Policy: fastPolicy}
	r.OnRetry = func(ev RetryEvent) {
		if ev.Attempt == 1 {
			cache.Invalidate(context.Background(), credentials.Credential{Key: retryOldKey})
		}
	}
	if _, err := send(t, &http.Client{Transport: r}, "PUT", srv.URL+"/things/1", []byte(`{"name":"x"}`), nil); err != nil {
		t.Fatal(err)
	}
	bodies, sent, _ := srv.seen()
	for i, b := range bodies {
		if b != `{"name":"x"}` {
			t.Errorf("attempt %d sent body %q", i+1, b)
		}
	}
	if want := []string{retryOldKey, retryNewKey, retryNewKey}; strings.Join(sent, ",") != strings.Join(want, ",") {
		t.Errorf("keys sent %q, want %q: each attempt must re-read the current key", sent, want)
	}
}

func TestInvalidKeyDuringRetriesRefreshesOnceAndContinues(t *testing.T) {
	srv := newScript(t, 503, 200)
	srv.valid = retryOldKey
	var refreshes atomic.Int64
	refresh := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		refreshes.Add(1)
		return credentials.Credential{Key: retryNewKey}, nil
	}
	// After the first 503 the API rotates the key.
	c := stack(fastPolicy, credentials.Static(retryOldKey), refresh, nil)
	c.Transport.(*Retry).OnRetry = func(RetryEvent) {
		srv.mu.Lock()
		srv.valid = retryNewKey
		srv.mu.Unlock()
	}
	resp, err := send(t, c, "GET", srv.URL+"/things", nil, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v; want 200", resp, err)
	}
	_, keys, _ := srv.seen()
	if want := retryOldKey + "," + retryOldKey + "," + retryNewKey; strings.Join(keys, ",") != want {
		t.Errorf("keys sent %q, want the old key, its rejection, then the new key", keys)
	}
	if refreshes.Load() != 1 {
		t.Errorf("refreshed %d times, want 1", refreshes.Load())
	}
}

func TestInvalidKeyIsNeverRetried(t *testing.T) {
	srv := newScript(t, 200)
	srv.valid = retryNewKey // never obtained
	var refreshes atomic.Int64
	refresh := func(context.Context, credentials.Credential) (credentials.Credential, error) {
		refreshes.Add(1)
		return credentials.Credential{Key: "rk_test_STILLWRONG00000003"}, nil
	}
	c := stack(fastPolicy, credentials.Static(retryOldKey), refresh, nil)
	_, err := send(t, c, "GET", srv.URL+"/things", nil, nil)
	if !errors.Is(err, apierr.ErrInvalidAPIKey) {
		t.Fatalf("err = %v, want ErrInvalidAPIKey", err)
	}
	var re *RetryError
	if errors.As(err, &re) {
		t.Errorf("the rejection came wrapped in a RetryError: %v", err)
	}
	if srv.calls.Load() != 2 || refreshes.Load() != 1 {
		t.Errorf("%d requests and %d refreshes, want 2 and 1 (request, one replay)", srv.calls.Load(), refreshes.Load())
	}
}

// TestRetryablehttpDefaultPolicyWouldRetryOurErrors documents why Retry
// uses its own policy: go-retryablehttp's retries any error.
func TestRetryablehttpDefaultPolicyWouldRetryOurErrors(t *testing.T) {
	ctx := context.Background()
	var p RetryPolicy
	for _, err := range []error{
		&apierr.APIError{StatusCode: 401, InvalidKey: true},
		apierr.ErrInsecureRequest,
		&credentials.MalformedKeyError{Problem: "empty"},
		credentials.ErrNoCredentials,
		credentials.ErrCacheClosed,
		context.Canceled,
		&apierr.APIError{StatusCode: 401, InvalidKey: true, RefreshFailed: true, Err: errors.New("hook down")},
	} {
		if lib, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !lib {
			t.Logf("go-retryablehttp's default policy no longer retries %v", err)
		}
		if p.retry(ctx, nil, err) {
			t.Errorf("RetryPolicy retries %v", err)
		}
	}
	for _, err := range []error{
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		io.ErrUnexpectedEOF,
	} {
		if !p.retry(ctx, nil, err) {
			t.Errorf("RetryPolicy does not retry the connection error %v", err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if p.retry(cancelled, &http.Response{StatusCode: 503}, nil) {
		t.Error("RetryPolicy retries after the context ended")
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close() // hang up before answering
		}
	}()
	t.Cleanup(func() { ln.Close() })
	var events []RetryEvent
	c := stack(fastPolicy, credentials.Static(retryOldKey), nil, &events)
	_, err = send(t, c, "GET", "http://"+ln.Addr().String()+"/things?api_key=x", nil, nil)
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 4 {
		t.Fatalf("err = %v, want a RetryError after 4 attempts", err)
	}
	if !strings.Contains(err.Error(), "GET http://"+ln.Addr().String()+"/things failed after 4 attempts: ") {
		t.Errorf("error %q does not name the request and the attempts", err)
	}
	// net/http reports the hang-up as a reset, as "server closed idle
	// connection", or as a bare EOF, which alone says nothing: Retry explains it.
	if errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "the server closed the connection without a response (EOF)") {
		t.Errorf("error %q does not explain the bare EOF", err)
	}
	if len(events) != 3 || events[0].Err == nil || events[0].StatusCode != 0 {
		t.Errorf("retry events = %+v, want 3 for connection errors", events)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		maxAfter   time.Duration
		wantWait   time.Duration
		wantCalls  int64
	}{
		{"seconds", "1", 0, time.Second, 2},
		{"HTTP date", time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat), 0, 2 * time.Second, 2},
		{"date in the past", "Wed, 21 Oct 2015 07:28:00 GMT", 0, 0, 2},
		{"over the cap: not retried", "120", 10 * time.Second, 0, 1},
		{"unparsable: backoff", "soon", 0, fastPolicy.MaxWait, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p RetryPolicy = fastPolicy
			p.MaxRetryAfter = tt.maxAfter
			resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {tt.retryAfter}}}
			if got := p.retry(context.Background(), resp, nil); got != (tt.wantCalls > 1) {
				t.Fatalf("retry = %v", got)
			}
			if tt.wantCalls == 1 {
				return
			}
			got := p.wait(1, resp)
			if got > tt.wantWait || got < tt.wantWait-time.Second {
				t.Errorf("wait = %v, want about %v", got, tt.wantWait)
			}
		})
	}
}

func TestRetryAfterOneSecondWaitsAboutASecond(t *testing.T) {
	srv := newScript(t, 429, 200)
	srv.header.Set("Retry-After", "1")
	var events []RetryEvent
	c := stack(fastPolicy, credentials.Static(retryOldKey), nil, &events)
	start := time.Now()
	resp, err := send(t, c, "GET", srv.URL+"/things", nil, nil)
	elapsed := time.Since(start)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v", resp, err)
	}
	if elapsed < time.Second || elapsed > 3*time.Second {
		t.Errorf("took %v, want about a second", elapsed)
	}
	if len(events) != 1 || events[0].Wait != time.Second || events[0].StatusCode != 429 {
		t.Errorf("events = %+v, want one retry after 1s for a 429", events)
	}
}

func TestContextEndsDuringWaitReturnsPromptly(t *testing.T) {
	srv := newScript(t, 503)
	srv.header.Set("Retry-After", "20")
	c := stack(fastPolicy, credentials.Static(retryOldKey), nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/things", nil)
	start := time.Now()
	_, err := c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v, want promptly after the context ended", d)
	}
}

func TestIdempotencyKeysAddedOnceForAllRetriesOfAPost(t *testing.T) {
	srv := newScript(t, 503, 503, 201)
	p := fastPolicy
	p.IdempotencyKeys = true
	c := stack(p, credentials.Static(retryOldKey), nil, nil)
	orig := http.Header{"X-Trace": {"1"}}
	resp, err := send(t, c, "POST", srv.URL+"/payments", []byte(`{"amount":100}`), orig)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("got %v, %v", resp, err)
	}
	bodies, _, idem := srv.seen()
	if len(idem) != 3 || idem[0] == "" || idem[0] != idem[1] || idem[1] != idem[2] {
		t.Errorf("Idempotency-Key per attempt = %q, want one key repeated", idem)
	}
	if bodies[2] != `{"amount":100}` {
		t.Errorf("last attempt's body = %q", bodies[2])
	}
	//lint:ignore SA4000 two calls must return two different random keys; the comparison is the test
	if len(NewIdempotencyKey()) != 36 || NewIdempotencyKey() == NewIdempotencyKey() {
		t.Error("NewIdempotencyKey does not look like a random UUID")
	}
}

func TestNonReplayableBodyIsSentOnce(t *testing.T) {
	srv := newScript(t, 503, 200)
	c := stack(fastPolicy, credentials.Static(retryOldKey), nil, nil)
	req, _ := http.NewRequest("PUT", srv.URL+"/things/1", io.MultiReader(strings.NewReader("streamed")))
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 503 || srv.calls.Load() != 1 {
		t.Fatalf("got %v, %v after %d attempts; want the 503 after one", resp, err, srv.calls.Load())
	}
	resp.Body.Close()
}

// closeCounter counts CloseIdleConnections calls on the base transport.
type closeCounter struct {
	http.RoundTripper
	closes atomic.Int64
}

func (c *closeCounter) CloseIdleConnections() { c.closes.Add(1) }

func TestFailedRequestsKeepThePoolsConnections(t *testing.T) {
	srv := newScript(t, 503)
	base := &closeCounter{RoundTripper: http.DefaultTransport}
	c := &http.Client{Transport: &Retry{Base: &Transport{Base: base, Credentials: credentials.Static(retryOldKey)}, Policy: fastPolicy}}
	if _, err := send(t, c, "GET", srv.URL+"/things", nil, nil); err == nil {
		t.Fatal("want an error after the retries")
	}
	if n := base.closes.Load(); n != 0 {
		t.Errorf("a failed request closed the pool's idle connections %d times", n)
	}
	c.CloseIdleConnections()
	if base.closes.Load() != 1 {
		t.Error("http.Client.CloseIdleConnections did not reach the base transport")
	}
}

// TestRetryablehttpLoggerWouldPrintKeys documents why Retry turns
// go-retryablehttp's logging off, and checks that it stays off.
func TestRetryablehttpLoggerWouldPrintKeys(t *testing.T) {
	srv := newScript(t, 503, 200)
	url := srv.URL + "/things?api_key=" + retryOldKey

	var libLog bytes.Buffer
	lib := retryablehttp.NewClient()
	lib.Logger = log.New(&libLog, "", 0)
	lib.RetryWaitMin, lib.RetryWaitMax = time.Millisecond, time.Millisecond
	if resp, err := lib.Get(url); err == nil {
		resp.Body.Close()
	}
	if !strings.Contains(libLog.String(), retryOldKey) {
		t.Logf("go-retryablehttp no longer logs query strings:\n%s", libLog.String())
	}

	r := &Retry{Base: &Transport{Credentials: credentials.Static(retryNewKey), Query: "api_key"}, Policy: fastPolicy}
	if _, err := send(t, &http.Client{Transport: r}, "GET", srv.URL+"/things", nil, nil); err != nil {
		t.Fatal(err)
	}
	s := r.pool.Get().(*retrier)
	if s.client.Logger != nil || s.client.RequestLogHook != nil || s.client.ResponseLogHook != nil {
		t.Error("Retry's go-retryablehttp client logs")
	}
}

func TestExhaustedErrorScrubsEchoedKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		io.WriteString(w, `{"message": "overloaded, key `+r.URL.Query().Get("api_key")+`"}`)
	}))
	defer srv.Close()
	r := &Retry{Base: &Transport{Credentials: credentials.Static(retryOldKey), Query: "api_key"}, Policy: fastPolicy}
	_, err := send(t, &http.Client{Transport: r}, "GET", srv.URL+"/things?page=1", nil, nil)
	if err == nil || strings.Contains(err.Error(), retryOldKey) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("err = %v, want the echoed key redacted", err)
	}
}
