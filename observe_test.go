package rekey_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// counter counts hook calls by name.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *counter) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *counter) hooks() rekey.Hooks {
	ev := func(name string) func(transport.Event) { return func(transport.Event) { c.add(name) } }
	rf := func(name string) func(credentials.RefreshEvent) {
		return func(e credentials.RefreshEvent) {
			if e.Phase != credentials.RefreshStarted && e.Duration <= 0 {
				c.add(name + " without duration")
			}
			c.add(name)
		}
	}
	return rekey.Hooks{
		KeyRejected:        ev("key rejected"),
		RequestReplayed:    ev("replayed"),
		RequestNotReplayed: ev("not replayed"),
		ReplayRejected:     ev("replay rejected"),
		RefreshStarted:     rf("refresh started"),
		RefreshSucceeded:   rf("refresh succeeded"),
		RefreshFailed:      rf("refresh failed"),
		RetryScheduled:     func(transport.RetryEvent) { c.add("retry scheduled") },
	}
}

func TestHooksAndLogsCountEvents(t *testing.T) {
	api := newFakeAPI(t, clientKey1)
	var logs syncBuffer
	var hooks counter
	m := &minter{api: api}
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)), rekey.WithRefresh(m.refresh),
		fastRetries, rekey.WithHooks(hooks.hooks()),
		rekey.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

	// 1. Initial key from the provider, a 503 retried, then success.
	api.enqueue(503)
	if _, _, err := get(t, c, "things/1"); err != nil {
		t.Fatal(err)
	}
	// 2. The key is revoked: rejected, refreshed, replayed.
	api.accept("rk_test_nobody_has_this_key", time.Time{}, true)
	if _, _, err := get(t, c, "things/1"); err != nil {
		t.Fatal(err)
	}
	// 3. Revoked again, and the refresh fails.
	api.accept("rk_test_nobody_has_this_key", time.Time{}, true)
	m.api = newFakeAPI(t) // keys minted from now on are valid elsewhere
	failing := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{}, credentials.Permanent(errors.New("key service says no"))
		}), rekey.WithHooks(hooks.hooks()), rekey.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if _, _, err := get(t, failing, "things/1"); !errors.Is(err, rekey.ErrRefreshFailed) {
		t.Fatalf("err = %v, want ErrRefreshFailed", err)
	}
	// 4. A refreshed key rejected too.
	if _, _, err := get(t, c, "things/1"); !errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("err = %v, want ErrInvalidAPIKey", err)
	}

	want := map[string]int{
		"retry scheduled":   1,
		"key rejected":      3, // 2, 3 and 4
		"replayed":          2, // 2 and 4
		"replay rejected":   1, // 4
		"refresh started":   5, // c: initial, 2, 4; failing: initial, 3
		"refresh succeeded": 4,
		"refresh failed":    1,
	}
	for name, n := range want {
		if got := hooks.get(name); got != n {
			t.Errorf("%s: %d hook calls, want %d", name, got, n)
		}
	}
	for _, bad := range []string{"refresh succeeded without duration", "refresh failed without duration", "not replayed"} {
		if hooks.get(bad) != 0 {
			t.Errorf("%s: %d", bad, hooks.get(bad))
		}
	}
	out := logs.String()
	for msg, n := range map[string]int{
		"rekey: retrying request":                      1,
		"rekey: API key rejected; refreshing it":       3,
		"rekey: request replayed with a refreshed key": 2,
		"rekey: refreshed API key rejected too":        1,
		"rekey: API key refreshed":                     4,
		"rekey: refreshing API key failed":             1,
	} {
		if got := strings.Count(out, `msg="`+msg+`"`); got != n {
			t.Errorf("%d log lines %q, want %d", got, msg, n)
		}
	}
	for _, attr := range []string{"wait=", "duration=", "attempts=", "status=503", "request_id=req-", "reason=rejected"} {
		if !strings.Contains(out, attr) {
			t.Errorf("the log has no %s", attr)
		}
	}
	assertNoKey(t, "log", out, clientKey1, "rk_test_minted")
}

// assertNoKey fails if s contains any of the keys (or key prefixes).
func assertNoKey(t *testing.T, what, s string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(s, k) {
			t.Errorf("%s contains a key (%s…):\n%s", what, k[:12], s)
		}
	}
}

func TestNothingPrintsTheKey(t *testing.T) {
	// The server echoes whatever key it gets in its error messages.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("api_key") + r.Header.Get("X-Api-Key") + r.Header.Get("Authorization")
		switch {
		case strings.HasSuffix(r.URL.Path, "/bad"):
			w.WriteHeader(http.StatusBadRequest)
		case strings.HasSuffix(r.URL.Path, "/busy"):
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
		fmt.Fprintf(w, `{"error": "Invalid API Key", "message": "key %s is not valid"}`, key)
	}))
	defer srv.Close()
	placements := map[string][]rekey.Option{
		"bearer": nil,
		"header": {rekey.WithHeader("X-API-Key")},
		"query":  {rekey.WithQueryParam("api_key")},
	}
	for name, placement := range placements {
		t.Run(name, func(t *testing.T) {
			var logs syncBuffer
			opts := append([]rekey.Option{
				rekey.WithCredentials(credentials.Static(clientKey1)), fastRetries,
				rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
					return credentials.Credential{Key: clientKey2}, nil
				}),
				rekey.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
			}, placement...)
			c, err := rekey.NewClient(srv.URL+"/v1", opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var texts []string
			for _, path := range []string{"things?page=2", "bad", "busy"} {
				req, _ := c.NewRequest(context.Background(), "GET", path, nil)
				_, err := c.Do(req, nil)
				if err == nil {
					t.Fatalf("GET %s: no error", path)
				}
				texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
				resp, err := c.HTTPClient().Get(srv.URL + "/v1/" + path)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				} else {
					texts = append(texts, err.Error())
				}
			}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				texts = append(texts, fmt.Sprintf(verb, c))
			}
			texts = append(texts, fmt.Sprintf("%#v", opts))
			assertNoKey(t, "output", strings.Join(texts, "\n")+logs.String(), clientKey1, clientKey2)
			if !strings.Contains(strings.Join(texts, "\n"), "[REDACTED]") {
				t.Error("the echoed key was not redacted in any error")
			}
		})
	}
}
