package rekey_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Keys used by the client tests; they pass credentials.Validate.
const (
	clientKey1 = "rk_test_CLIENTKEYONE000000001"
	clientKey2 = "rk_test_CLIENTKEYTWO000000002"
)

// fastRetries keeps the retry tests quick.
var fastRetries = rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: time.Millisecond, MaxWait: 4 * time.Millisecond})

// fakeAPI is a loopback API for the client tests. It accepts the keys in
// valid (or any unexpired minted key), answers queued statuses first, and
// records what it received.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	valid    map[string]time.Time // key → expiry (zero: none)
	queue    []int                // statuses to answer before serving normally
	header   http.Header          // extra headers on queued answers
	requests []*http.Request
	bodies   []string
	calls    atomic.Int64
	rejected atomic.Int64
}

func newFakeAPI(t testing.TB, valid ...string) *fakeAPI {
	t.Helper()
	a := &fakeAPI{valid: map[string]time.Time{}, header: http.Header{}}
	for _, k := range valid {
		a.valid[k] = time.Time{}
	}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

// accept makes key valid until expiry (zero: forever), replacing all others
// if only is set.
func (a *fakeAPI) accept(key string, expiry time.Time, only bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if only {
		a.valid = map[string]time.Time{}
	}
	a.valid[key] = expiry
}

func (a *fakeAPI) enqueue(statuses ...int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queue = append(a.queue, statuses...)
}

func (a *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	n := a.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if q := r.URL.Query().Get("api_key"); q != "" {
		key = q
	}
	a.mu.Lock()
	a.requests = append(a.requests, r.Clone(context.Background()))
	a.bodies = append(a.bodies, string(body))
	expiry, ok := a.valid[key]
	var status int
	if len(a.queue) > 0 {
		status, a.queue = a.queue[0], a.queue[1:]
	}
	a.mu.Unlock()
	w.Header().Set("X-Request-Id", "req-"+strconv.FormatInt(n, 10))
	w.Header().Set("Content-Type", "application/json")
	if !ok || (!expiry.IsZero() && time.Now().After(expiry)) {
		a.rejected.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`)
		return
	}
	if status != 0 {
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error": {"code": "e%d", "message": "queued %d"}}`, status, status)
		return
	}
	switch r.URL.Path {
	case "/v1/echo":
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "body": string(body), "query": r.URL.RawQuery})
	case "/v1/empty":
		w.WriteHeader(http.StatusNoContent)
	default:
		io.WriteString(w, `{"id": "thing_1", "name": "widget", "count": 3}`)
	}
}

func (a *fakeAPI) received() ([]*http.Request, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*http.Request(nil), a.requests...), append([]string(nil), a.bodies...)
}

// thing is what the fake API serves.
type thing struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// newTestClient returns a Client for api's /v1/, closed at the end of the test.
func newTestClient(t testing.TB, api *fakeAPI, opts ...rekey.Option) *rekey.Client {
	t.Helper()
	c, err := rekey.NewClient(api.URL+"/v1", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends GET path with c and decodes into a thing.
func get(t testing.TB, c *rekey.Client, path string) (*thing, *http.Response, error) {
	t.Helper()
	req, err := c.NewRequest(context.Background(), http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var v thing
	resp, err := c.Do(req, &v)
	return &v, resp, err
}

// minter mints numbered keys that api accepts, each valid for ttl (zero:
// forever), and counts its calls.
type minter struct {
	api   *fakeAPI
	ttl   time.Duration
	calls atomic.Int64
	gate  chan struct{} // if not nil, each call after the first waits for it
}

func (m *minter) refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	n := m.calls.Add(1)
	if m.gate != nil && n > 1 {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return credentials.Credential{}, ctx.Err()
		}
	}
	c := credentials.Credential{Key: fmt.Sprintf("rk_test_minted%016d", n)}
	if m.ttl > 0 {
		c.Expiry = time.Now().Add(m.ttl)
	}
	m.api.accept(c.Key, c.Expiry, false)
	return c, nil
}
