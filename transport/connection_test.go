package transport

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// hangUp is a loopback server that reads each request's head and closes the
// connection without answering, as a proxy or load balancer that drops a
// connection does. It counts the requests it read.
func hangUp(t *testing.T) (addr string, requests *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	requests = new(atomic.Int64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
				requests.Add(1)
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), requests
}

// A connection failure is handed to the caller as a *ConnectionError that
// says what happened and whether rekey retried, never as net/http's bare
// EOF, and errors.Is still sees the network layer's error.
func TestConnectionErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		header     http.Header
		policy     RetryPolicy
		wantSent   int64  // requests the server read
		notRetried string // part of NotRetried; "" for a RetryError
	}{
		{"POST without an Idempotency-Key", "POST", nil, fastPolicy, 1, "a POST without an Idempotency-Key header may have been performed"},
		{"PATCH without an Idempotency-Key", "PATCH", nil, fastPolicy, 1, "a PATCH without an Idempotency-Key header"},
		{"GET with retries off", "GET", nil, RetryPolicy{MaxAttempts: 1}, 1, "retries are off"},
		{"GET: retries run out", "GET", nil, fastPolicy, 4, ""},
		{"POST with an Idempotency-Key: retries run out", "POST", http.Header{IdempotencyKeyHeader: {"k-1"}}, fastPolicy, 4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, sent := hangUp(t)
			c := stack(tc.policy, credentials.Static(retryOldKey), nil, nil)
			var body []byte
			if tc.method != "GET" {
				body = []byte(`{"amount": 100}`)
			}
			_, err := send(t, c, tc.method, "http://"+addr+"/v1/things?api_key=secret", body, tc.header)
			var connErr *ConnectionError
			if !errors.As(err, &connErr) || !errors.Is(err, apierr.ErrConnection) {
				t.Fatalf("err = %v (%T), want a *ConnectionError matching ErrConnection", err, errors.Unwrap(err))
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("errors.Is sees neither EOF nor a reset through %v", err)
			}
			var retryErr *RetryError
			isRetry := errors.As(err, &retryErr)
			switch {
			case tc.notRetried == "" && (!isRetry || connErr.NotRetried != ""):
				t.Errorf("err = %v, want a RetryError around a ConnectionError with no NotRetried", err)
			case tc.notRetried != "" && (isRetry || !strings.Contains(connErr.NotRetried, tc.notRetried)):
				t.Errorf("err = %v, want a ConnectionError whose NotRetried says %q", err, tc.notRetried)
			}
			if connErr.Method != tc.method || connErr.URL != "http://"+addr+"/v1/things" || connErr.StatusCode != 0 {
				t.Errorf("ConnectionError = %+v, want %s http://%s/v1/things, no status", connErr, tc.method, addr)
			}
			// What http.Client wraps in *url.Error (whose URL is the
			// caller's own, query included).
			msg := err.(*url.Error).Err.Error()
			if strings.HasSuffix(msg, ": EOF") || strings.Contains(msg, "secret") || !strings.Contains(msg, "before a response arrived") && !strings.Contains(msg, "without a response") {
				t.Errorf("message %q does not say in words what happened, or shows the query", msg)
			}
			if got := sent.Load(); got != tc.wantSent {
				t.Errorf("the server read %d requests, want %d", got, tc.wantSent)
			}
		})
	}
}

// Wrapping keeps what *url.Error and net.Error callers rely on: a timeout
// is still a timeout.
func TestConnectionErrorKeepsTimeout(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: errTimeout{}}
	err := &url.Error{Op: "Post", URL: "https://api.example.com/v1", Err: &ConnectionError{Method: "POST", URL: "https://api.example.com/v1", Err: timeout}}
	if !err.Timeout() {
		t.Error("url.Error.Timeout() = false through a ConnectionError around a timeout")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Error("errors.As finds no net.Error that is a timeout")
	}
	plain := &ConnectionError{Method: "GET", URL: "https://api.example.com/v1", Err: io.EOF}
	if plain.Timeout() {
		t.Error("a ConnectionError around EOF says it is a timeout")
	}
}

type errTimeout struct{}

func (errTimeout) Error() string   { return "i/o timeout" }
func (errTimeout) Timeout() bool   { return true }
func (errTimeout) Temporary() bool { return true }

// A response head cut in the middle of a line reads as "malformed MIME
// header" inside net/http's "connection broken": a connection failure,
// retried like any other.
func TestCutResponseHeadIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
				if n.Add(1) == 1 {
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nWww-Authentic")
				} else {
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
				}
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	c := stack(fastPolicy, credentials.Static(retryOldKey), nil, nil)
	resp, err := send(t, c, "GET", "http://"+ln.Addr().String()+"/v1/things", nil, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v; want the retry's 200", resp, err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}
