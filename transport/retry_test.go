package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

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
