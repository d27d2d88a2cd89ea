package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// Keys used by the tests. They pass credentials.Validate.
const (
	oldKey = "rk_test_OLDOLDOLDOLDOLD0001"
	newKey = "rk_test_NEWNEWNEWNEWNEW0002"
	badKey = "rk_test_BADBADBADBADBAD0003"
)

const seedBody = `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`

// api is a small API on loopback that accepts the keys in valid, and
// records what it received.
type api struct {
	*httptest.Server
	mu       sync.Mutex
	valid    map[string]bool
	bodies   []string
	requests atomic.Int64
	rejected atomic.Int64
	header   string // where the key is read from; "" means Authorization: Bearer
	query    string // if set, the key is read from this query parameter
}

func newAPI(t testing.TB, valid ...string) *api {
	t.Helper()
	a := &api{valid: map[string]bool{}}
	for _, k := range valid {
		a.valid[k] = true
	}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *api) presented(r *http.Request) string {
	switch {
	case a.query != "":
		return r.URL.Query().Get(a.query)
	case a.header != "":
		return r.Header.Get(a.header)
	}
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	ok := a.valid[a.presented(r)]
	a.mu.Unlock()
	w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", a.requests.Load()))
	if !ok {
		a.rejected.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, seedBody)
		return
	}
	a.mu.Lock()
	a.bodies = append(a.bodies, string(body))
	a.mu.Unlock()
	switch r.URL.Path {
	case "/forbidden":
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error": "Forbidden", "message": "This key lacks the admin scope."}`)
	case "/boom":
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "internal error")
	default:
		fmt.Fprintf(w, "ok %s %s", r.Method, body)
	}
}

func (a *api) received() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies...)
}

// countingRefresh returns a RefreshFunc yielding key and counting its calls.
func countingRefresh(key string, calls *atomic.Int64) credentials.RefreshFunc {
	return func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		calls.Add(1)
		return credentials.Credential{Key: key}, nil
	}
}

// trackedBody is a request body that records whether it was closed.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

// readAll reads resp's body to the end; a body that never ends (a read
// that returns nothing, forever) fails the test instead of hanging it.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(testwait.Progressing(resp.Body))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
