package rekeytest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/rekeytest"
)

// newServer starts a server that the test's cleanup closes.
func newServer(t testing.TB, opts ...rekeytest.Option) *rekeytest.Server {
	t.Helper()
	srv := rekeytest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// placement puts a key into a request.
type placement func(r *http.Request, key string)

func bearer(r *http.Request, key string)       { r.Header.Set("Authorization", "Bearer "+key) }
func apiKeyHeader(r *http.Request, key string) { r.Header.Set("X-API-Key", key) }
func queryParam(r *http.Request, key string) {
	q := r.URL.Query()
	q.Set("api_key", key)
	r.URL.RawQuery = q.Encode()
}

// answer is a response read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the answer's body into v, failing the test if it cannot.
func (a answer) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
}

// send makes one request with key placed by place (none if place is nil) and
// returns the answer; transport errors fail the test.
func send(t testing.TB, srv *rekeytest.Server, method, path string, place placement, key, body string) answer {
	t.Helper()
	a, err := trySend(context.Background(), srv, method, path, place, key, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// trySend is send that returns transport errors. It is safe to call from
// any goroutine.
func trySend(ctx context.Context, srv *rekeytest.Server, method, path string, place placement, key, body string) (answer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if place != nil {
		place(req, key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// echoAnswer is the JSON of /v1/echo.
type echoAnswer struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Query  url.Values      `json:"query"`
	Body   json.RawMessage `json:"body"`
}

// wantRejection fails the test unless a is exactly the invalid-key 401.
func wantRejection(t testing.TB, a answer) {
	t.Helper()
	if a.status != http.StatusUnauthorized || string(a.body) != rekeytest.InvalidKeyBody ||
		a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q (Content-Type %q), want 401 %q (application/json)",
			a.status, a.body, a.header.Get("Content-Type"), rekeytest.InvalidKeyBody)
	}
}
