package transport_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Every response the Transport hands back, not only a rejection in
// response mode, names the caller's request as its Request: the copy that
// went on the wire carries the key, and SDKs keep responses (a 403, a 500)
// in error values that get printed.
func TestPassedThroughResponseNamesTheCallersRequest(t *testing.T) {
	placements := []struct {
		name string
		tr   func(*transport.Transport)
		api  func(*api)
	}{
		{"Authorization", func(*transport.Transport) {}, func(*api) {}},
		{"X-API-Key", func(tr *transport.Transport) { tr.Header = "X-API-Key" }, func(a *api) { a.header = "X-API-Key" }},
		{"query", func(tr *transport.Transport) { tr.Query = "api_key" }, func(a *api) { a.query = "api_key" }},
	}
	paths := []struct {
		path       string
		wantStatus int
	}{
		{"/ok", http.StatusOK},
		{"/forbidden", http.StatusForbidden},
		{"/boom", http.StatusInternalServerError},
	}
	for _, p := range placements {
		for _, replayed := range []bool{false, true} {
			for _, path := range paths {
				name := p.name + path.path
				if replayed {
					name += "/after a replay"
				}
				t.Run(name, func(t *testing.T) {
					a := newAPI(t, newKey)
					p.api(a)
					start := newKey
					if replayed {
						start = oldKey // rejected, then replayed with newKey
					}
					tr := &transport.Transport{Credentials: credentials.Static(start)}
					if replayed {
						tr.Refresh = func(_ context.Context, _ credentials.Credential) (credentials.Credential, error) {
							return credentials.Credential{Key: newKey}, nil
						}
					}
					p.tr(tr)
					req, err := http.NewRequest(http.MethodGet, a.URL+path.path, nil)
					if err != nil {
						t.Fatal(err)
					}
					resp, err := tr.RoundTrip(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					if resp.StatusCode != path.wantStatus {
						t.Fatalf("status %d, want %d", resp.StatusCode, path.wantStatus)
					}
					if got := resp.Request; got.Method != req.Method || got.URL.String() != req.URL.String() || len(got.Header) != len(req.Header) {
						t.Errorf("resp.Request is %s %s with %d headers, not the caller's %s %s with %d", got.Method, got.URL, len(got.Header), req.Method, req.URL, len(req.Header))
					}
					if path.wantStatus < 400 && resp.Request != req {
						t.Errorf("resp.Request of a %d is not the caller's request", path.wantStatus)
					}
					if s := fmt.Sprintf("%v %+v", resp.Request.Context(), resp.Request); strings.Contains(s, newKey) || strings.Contains(s, oldKey) {
						t.Errorf("resp.Request prints the key: %s", s)
					}
					for _, key := range []string{oldKey, newKey} {
						if where := keyLeaks(resp.Request, key); len(where) > 0 {
							t.Errorf("resp.Request carries the key in %v", where)
						}
					}
				})
			}
		}
	}
}
