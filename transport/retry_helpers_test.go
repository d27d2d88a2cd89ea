package transport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
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
