package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/transport"
)

// longRejection is a 401 body well past the MaxErrorBody the tests set, so
// that a truncated body shows.
func longRejection(n int64) string {
	return fmt.Sprintf(`{"error": {"type": "invalid_request_error", "code": "invalid_api_key", "message": "Incorrect API key provided.", "request": %d, "padding": %q}}`,
		n, strings.Repeat("p", 4000))
}

// rejectingAPI answers every request with longRejection and its own
// headers, and counts requests.
func rejectingAPI(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", fmt.Sprintf("req_%d", n))
		w.Header().Set("Www-Authenticate", `Bearer realm="api"`)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, longRejection(n))
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

// TestReturnResponseAfterFailedRecovery: in response mode, every way that
// recovery can fail hands back the API's own last response, status, headers
// and whole body, with a nil error; the events still tell what happened.
func TestReturnResponseAfterFailedRecovery(t *testing.T) {
	suspended := credentials.Permanent(errors.New("key service: account suspended"))
	tests := []struct {
		name       string
		refresh    credentials.RefreshFunc // nil: the static key only
		body       func() io.Reader        // nil: GET
		requests   int64                   // at the server
		refreshes  int64
		fromServer int64 // which request's response comes back
		events     []transport.EventKind
	}{
		{
			name:     "replay rejected",
			refresh:  fixedKey(newKey),
			requests: 2, refreshes: 1, fromServer: 2,
			events: []transport.EventKind{transport.EventKeyRejected, transport.EventReplayed, transport.EventReplayRejected},
		},
		{
			name:     "refresh failed",
			refresh:  failing(suspended),
			requests: 1, refreshes: 1, fromServer: 1,
			events: []transport.EventKind{transport.EventKeyRejected},
		},
		{
			name:     "body not replayable",
			refresh:  fixedKey(newKey),
			body:     func() io.Reader { return &trackedBody{Reader: strings.NewReader(`{"n": 1}`)} },
			requests: 1, refreshes: 1, fromServer: 1,
			events: []transport.EventKind{transport.EventKeyRejected, transport.EventNotReplayed},
		},
		{
			name:     "static key, nothing to refresh",
			requests: 1, refreshes: 0, fromServer: 1,
			events: []transport.EventKind{transport.EventKeyRejected},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := rejectingAPI(t)
			var refreshes atomic.Int64
			var mu sync.Mutex
			var events []transport.EventKind
			tr := &transport.Transport{
				Credentials:    credentials.Static(oldKey),
				ReturnResponse: true,
				MaxErrorBody:   64, // far less than the body: the response must still be whole
				OnEvent: func(ev transport.Event) {
					mu.Lock()
					events = append(events, ev.Kind)
					mu.Unlock()
				},
			}
			if tt.refresh != nil {
				tr.Refresh = counted(tt.refresh, &refreshes)
			}
			t.Cleanup(func() { tr.Close() })
			var req *http.Request
			if tt.body != nil {
				req, _ = http.NewRequest(http.MethodPost, srv.URL+"/v1/things", tt.body())
			} else {
				req, _ = http.NewRequest(http.MethodGet, srv.URL+"/v1/things", nil)
			}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatalf("err = %v; want the API's response and no error", err)
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", resp.StatusCode)
			}
			want := fmt.Sprintf("req_%d", tt.fromServer)
			if got := resp.Header.Get("X-Request-Id"); got != want {
				t.Errorf("X-Request-Id = %q, want %q (the last response the API sent)", got, want)
			}
			if got := resp.Header.Get("Www-Authenticate"); got != `Bearer realm="api"` {
				t.Errorf("Www-Authenticate = %q, want the API's header intact", got)
			}
			if resp.Request != req || resp.Request.Header.Get("Authorization") != "" {
				t.Errorf("resp.Request is not the caller's request (the key's copy must not escape)")
			}
			if got := readAll(t, resp); got != longRejection(tt.fromServer) {
				t.Errorf("body = %.80q... (%d bytes); want the API's whole body (%d bytes)", got, len(got), len(longRejection(tt.fromServer)))
			}
			if got := requests.Load(); got != tt.requests {
				t.Errorf("server saw %d requests, want %d", got, tt.requests)
			}
			if got := refreshes.Load(); got != tt.refreshes {
				t.Errorf("refresh hook called %d times, want %d", got, tt.refreshes)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(events) != fmt.Sprint(tt.events) {
				t.Errorf("events = %v, want %v", events, tt.events)
			}
		})
	}
}

// TestReturnResponseLeavesOtherOutcomesAlone: a recovery that works
// returns the replay's answer, and a caller that gives up waiting for the
// refresh still gets its context's error, not a response.
func TestReturnResponseLeavesOtherOutcomesAlone(t *testing.T) {
	t.Run("recovered", func(t *testing.T) {
		srv := newAPI(t, newKey)
		tr := &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: fixedKey(newKey), ReturnResponse: true}
		resp, err := get(t, &http.Client{Transport: tr}, srv.URL+"/x")
		if err != nil || resp.StatusCode != http.StatusOK || readAll(t, resp) != "ok GET " {
			t.Fatalf("got %v, %v; want the replay's 200", resp, err)
		}
	})
	t.Run("caller gave up", func(t *testing.T) {
		srv, _ := rejectingAPI(t)
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tr := &transport.Transport{
			Credentials: credentials.Static(oldKey), ReturnResponse: true,
			Refresh: func(context.Context, credentials.Credential) (credentials.Credential, error) {
				cancel() // the caller gives up while the refresh is under way
				<-release
				return credentials.Credential{Key: newKey}, nil
			},
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if resp != nil || !errors.Is(err, context.Canceled) || !errors.Is(err, rekey.ErrInvalidAPIKey) {
			t.Fatalf("got %v, %v; want no response and an error matching both context.Canceled and ErrInvalidAPIKey", resp, err)
		}
	})
}

// TestRetriedRequestWithRejectedRefreshedKeyDoesNotRefreshAgain is what an
// SDK's retry loop does in error mode: it takes rekey's error for a network
// failure and sends the request again, here five times in all. The refresh
// hook runs once; every attempt fails with ErrInvalidAPIKey; the later ones
// say that the refreshed key was rejected too, not that the hook returned
// the same key.
func TestRetriedRequestWithRejectedRefreshedKeyDoesNotRefreshAgain(t *testing.T) {
	srv := newAPI(t) // accepts no key
	var refreshes atomic.Int64
	cache := &credentials.Cache{Provider: credentials.Static(oldKey), Refresh: counted(fixedKey(newKey), &refreshes), Cooldown: time.Hour}
	client := &http.Client{Transport: &transport.Transport{Credentials: cache}}
	var last error
	for attempt := 1; attempt <= 5; attempt++ {
		_, err := get(t, client, srv.URL+"/v1/chat")
		if !errors.Is(err, rekey.ErrInvalidAPIKey) {
			t.Fatalf("attempt %d: err = %v; want ErrInvalidAPIKey", attempt, err)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(s, oldKey) || strings.Contains(s, newKey) {
				t.Errorf("attempt %d: error shows a key: %s", attempt, s)
			}
		}
		last = err
	}
	if got := refreshes.Load(); got != 1 {
		t.Errorf("refresh hook called %d times over 5 attempts; want 1", got)
	}
	if got := srv.requests.Load(); got != 6 {
		t.Errorf("server saw %d requests; want 6 (request and replay, then one per retry)", got)
	}
	if msg := last.Error(); !strings.Contains(msg, "refreshed once, the new key was rejected too") || strings.Contains(msg, "returned the rejected key again") {
		t.Errorf("last error = %q; want it to say the refreshed key was rejected too", msg)
	}
	if !errors.Is(last, credentials.ErrRefreshedKeyRejected) {
		t.Errorf("last error does not match credentials.ErrRefreshedKeyRejected: %v", last)
	}
}

// fixedKey is a refresh hook that always returns key.
func fixedKey(key string) credentials.RefreshFunc {
	return func(context.Context, credentials.Credential) (credentials.Credential, error) {
		return credentials.Credential{Key: key}, nil
	}
}

// failing is a refresh hook that always fails with err.
func failing(err error) credentials.RefreshFunc {
	return func(context.Context, credentials.Credential) (credentials.Credential, error) {
		return credentials.Credential{}, err
	}
}

// counted counts the calls of fn.
func counted(fn credentials.RefreshFunc, calls *atomic.Int64) credentials.RefreshFunc {
	return func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		calls.Add(1)
		return fn(ctx, rejected)
	}
}

// TestReturnResponseConcurrentCallers: 50 goroutines are rejected at once;
// one refresh runs while each holds its rejection open; every replay is
// rejected too, and each caller gets its own replay's whole response.
// Then 50 more requests with the refreshed key fail at once (cooldown),
// each with its own response, still without another refresh.
func TestReturnResponseConcurrentCallers(t *testing.T) {
	const n = 50
	srv, requests := rejectingAPI(t)
	var refreshes atomic.Int64
	release := make(chan struct{})
	cache := &credentials.Cache{
		Provider: credentials.Static(oldKey),
		Refresh: func(ctx context.Context, _ credentials.Credential) (credentials.Credential, error) {
			refreshes.Add(1)
			<-release
			return credentials.Credential{Key: newKey}, nil
		},
		Cooldown: time.Hour,
	}
	base := &http.Transport{MaxIdleConnsPerHost: n}
	t.Cleanup(base.CloseIdleConnections)
	client := &http.Client{Transport: &transport.Transport{Credentials: cache, ReturnResponse: true, MaxErrorBody: 64, Base: base}}

	round := func(want int64) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(srv.URL)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(testwait.Progressing(resp.Body))
				var got int64
				fmt.Sscanf(resp.Header.Get("X-Request-Id"), "req_%d", &got)
				if err != nil || resp.StatusCode != http.StatusUnauthorized || string(body) != longRejection(got) {
					errs <- fmt.Errorf("status %d, %d bytes, %v: want a whole 401 of its own", resp.StatusCode, len(body), err)
				}
			}()
		}
		if want == 2*n { // hold the refresh until every first request was rejected
			deadline := time.Now().Add(30 * time.Second)
			for requests.Load() < n && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			close(release) // if the deadline passed, the counts below fail
		}
		testwait.Group(t, &wg, time.Minute, "the requests")
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := requests.Load(); got != want {
			t.Errorf("server saw %d requests, want %d", got, want)
		}
	}
	round(2 * n) // each: rejected, then its replay rejected
	round(3 * n) // each: rejected once, no refresh within the cooldown
	if got := refreshes.Load(); got != 1 {
		t.Errorf("refresh hook called %d times, want 1", got)
	}
}
