package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
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

func TestRejectionDecodedIntoAPIError(t *testing.T) {
	srv := newAPI(t) // accepts no key at all
	tr := &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(badKey, new(atomic.Int64))}
	resp, err := get(t, &http.Client{Transport: tr}, srv.URL+"/things?page=2")
	if resp != nil {
		t.Fatalf("got a response with status %d, want the rejection as an error", resp.StatusCode)
	}
	if !errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("errors.Is(err, ErrInvalidAPIKey) = false for %v", err)
	}
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Fatalf("want the error wrapped in *url.Error by http.Client, got %T", err)
	}
	var apiErr *rekey.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("errors.As(*APIError) = false for %v", err)
	}
	want := rekey.APIError{
		StatusCode: 401, Code: "Invalid API Key",
		Message:   "The API key provided is not valid or has expired.",
		RequestID: "req-2", Method: "GET", URL: srv.URL + "/things",
		InvalidKey: true, Replayed: true,
	}
	if *apiErr != want {
		t.Errorf("APIError =\n  %+v\nwant\n  %+v", *apiErr, want)
	}
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2 (the request and one replay)", got)
	}
	if !strings.Contains(err.Error(), "The API key provided is not valid or has expired; refreshed once, still rejected") {
		t.Errorf("error text %q does not explain what happened", err)
	}
}

func TestRefreshThenReplayDeliversBodyIntact(t *testing.T) {
	srv := newAPI(t, newKey)
	var refreshes atomic.Int64
	var seen []credentials.Credential
	tr := &transport.Transport{
		Credentials: credentials.Static(oldKey),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			refreshes.Add(1)
			seen = append(seen, rejected)
			return credentials.Credential{Key: newKey}, nil
		},
	}
	payload := `{"amount": 1200, "currency": "EUR", "note": "` + strings.Repeat("x", 10000) + `"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/payments", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	before := req.Header.Clone()

	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "ok POST "+payload {
		t.Errorf("response body = %.60q..., want the echo of the payload", got)
	}
	if got := srv.received(); len(got) != 1 || got[0] != payload {
		t.Errorf("server accepted %d bodies; want exactly the payload once", len(got))
	}
	if refreshes.Load() != 1 || seen[0].Key != oldKey {
		t.Errorf("refresh called %d times with %v, want once with the rejected key", refreshes.Load(), seen)
	}
	if !equalHeader(req.Header, before) {
		t.Errorf("the caller's request headers were modified: %v", req.Header)
	}
}

func TestThousandConcurrentRejectionsRefreshOnce(t *testing.T) {
	srv := newAPI(t, newKey)
	var refreshes atomic.Int64
	release := make(chan struct{})
	tr := &transport.Transport{
		Credentials: credentials.Static(oldKey),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			refreshes.Add(1)
			<-release // hold the refresh until every goroutine has been rejected
			return credentials.Credential{Key: newKey}, nil
		},
	}
	base := &http.Transport{MaxIdleConnsPerHost: 1000}
	t.Cleanup(base.CloseIdleConnections)
	tr.Base = base
	client := &http.Client{Transport: tr}
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(srv.URL)
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- errors.New(resp.Status)
			}
		}()
	}
	// Every goroutine's first request is rejected before the refresh ends.
	deadline := time.Now().Add(30 * time.Second)
	for srv.rejected.Load() < n {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("only %d of %d requests were rejected", srv.rejected.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	testwait.Group(t, &wg, time.Minute, "the 1000 requests") // a minute: 1000 goroutines on a loaded machine
	close(errs)
	for err := range errs {
		t.Fatalf("a request failed: %v", err)
	}
	if got := refreshes.Load(); got != 1 {
		t.Errorf("refresh called %d times for %d concurrent rejections, want 1", got, n)
	}
	if got := srv.requests.Load(); got != 2*n {
		t.Errorf("server saw %d requests, want %d (one rejection and one replay each)", got, 2*n)
	}
}

func TestRefreshedKeyAlsoRejectedDoesNotLoop(t *testing.T) {
	srv := newAPI(t, newKey)
	var refreshes atomic.Int64
	tr := &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(badKey, &refreshes)}
	_, err := get(t, &http.Client{Transport: tr}, srv.URL)
	var apiErr *rekey.APIError
	if !errors.As(err, &apiErr) || !apiErr.Replayed || !apiErr.InvalidKey {
		t.Fatalf("want *APIError with Replayed and InvalidKey, got %v", err)
	}
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("server saw %d requests, want exactly 2", got)
	}
	if got := refreshes.Load(); got != 1 {
		t.Errorf("refresh called %d times, want 1", got)
	}
}

func TestRefreshFailureMatchesAllThreeTargets(t *testing.T) {
	srv := newAPI(t, newKey)
	hookErr := errors.New("key service: account suspended")
	var calls atomic.Int64
	tr := &transport.Transport{
		Credentials: credentials.Static(oldKey),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			calls.Add(1)
			return credentials.Credential{}, credentials.Permanent(hookErr)
		},
	}
	_, err := get(t, &http.Client{Transport: tr}, srv.URL)
	for _, target := range []error{rekey.ErrInvalidAPIKey, rekey.ErrRefreshFailed, hookErr} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %q) = false; err = %v", target, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("a permanent refresh error was retried: %d calls", calls.Load())
	}
	if !strings.Contains(err.Error(), "refreshing the key failed: key service: account suspended") {
		t.Errorf("error %q does not say why the refresh failed", err)
	}
	if srv.requests.Load() != 1 {
		t.Errorf("request replayed %d times after a failed refresh", srv.requests.Load()-1)
	}
}

func TestTransientRefreshFailureIsRetriedWithBackoff(t *testing.T) {
	srv := newAPI(t, newKey)
	var calls atomic.Int64
	tr := &transport.Transport{
		Credentials: credentials.Static(oldKey),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			if calls.Add(1) < 3 {
				return credentials.Credential{}, errors.New("key service: 503")
			}
			return credentials.Credential{Key: newKey}, nil
		},
	}
	resp, err := get(t, &http.Client{Transport: tr}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls.Load() != 3 {
		t.Errorf("refresh hook called %d times, want 3 (two transient failures, then success)", calls.Load())
	}
}

func TestCancelledContextDuringSlowRefreshReturnsPromptly(t *testing.T) {
	srv := newAPI(t, newKey)
	started := make(chan struct{})
	unblock := make(chan struct{})
	t.Cleanup(func() { close(unblock) })
	tr := &transport.Transport{
		Credentials: credentials.Static(oldKey),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			close(started)
			<-unblock // a refresh far slower than the caller is willing to wait
			return credentials.Credential{Key: newKey}, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	done := make(chan error, 1)
	go func() {
		_, err := (&http.Client{Transport: tr}).Do(req)
		done <- err
	}()
	testwait.Recv(t, started, testwait.Timeout, "the refresh to start")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, rekey.ErrInvalidAPIKey) {
			t.Errorf("err = %v, want one matching context.Canceled and ErrInvalidAPIKey", err)
		}
		if errors.Is(err, rekey.ErrRefreshFailed) {
			t.Errorf("a caller that gave up should not report the refresh as failed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RoundTrip did not return after its context was cancelled")
	}
}

func TestNonReplayableBodyRefreshesButDoesNotReplay(t *testing.T) {
	srv := newAPI(t, newKey)
	var refreshes atomic.Int64
	tr := &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(newKey, &refreshes)}
	client := &http.Client{Transport: tr}

	body := &trackedBody{Reader: strings.NewReader("one-shot stream")}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, body) // io.Reader of unknown type: no GetBody
	_, err := client.Do(req)
	var apiErr *rekey.APIError
	if !errors.As(err, &apiErr) || apiErr.NotReplayed == "" || apiErr.Replayed {
		t.Fatalf("want *APIError saying why it was not replayed, got %v", err)
	}
	if !strings.Contains(err.Error(), "not replayed") {
		t.Errorf("error %q does not say the request was not replayed", err)
	}
	if !body.closed.Load() {
		t.Error("request body not closed")
	}
	if srv.requests.Load() != 1 || refreshes.Load() != 1 {
		t.Fatalf("requests=%d refreshes=%d, want 1 and 1", srv.requests.Load(), refreshes.Load())
	}
	resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("second"))
	if err != nil {
		t.Fatalf("next request with the refreshed key: %v", err)
	}
	resp.Body.Close()
	if refreshes.Load() != 1 {
		t.Errorf("the next request refreshed again")
	}
}

func TestResponsesThatAreNotRejectionsPassThroughUntouched(t *testing.T) {
	srv := newAPI(t, oldKey)
	big := strings.Repeat("y", 100<<10) // larger than the peek limit
	tests := []struct {
		name, path string
		status     int
		body       string
	}{
		{"permission 403", "/forbidden", 403, `{"error": "Forbidden", "message": "This key lacks the admin scope."}`},
		{"server error", "/boom", 500, "internal error"},
		{"success", "/x", 200, "ok GET "},
		{"large 403 body restored whole", "/big403", 403, big},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/big403", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, big)
	})
	mux.Handle("/", srv.Config.Handler)
	srv.Config.Handler = mux
	var refreshes atomic.Int64
	client := &http.Client{Transport: &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(newKey, &refreshes)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := get(t, client, srv.URL+tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := readAll(t, resp); got != tt.body {
				t.Errorf("body = %.80q (len %d), want %.80q (len %d)", got, len(got), tt.body, len(tt.body))
			}
		})
	}
	if refreshes.Load() != 0 {
		t.Errorf("a response that is not a key rejection caused %d refreshes", refreshes.Load())
	}
}

func TestForbiddenThatSaysKeyInvalidIsARejection(t *testing.T) {
	var calls atomic.Int64
	srv := newAPI(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error": {"message": "The API key has been revoked.", "type": "invalid_request_error"}}`)
			return
		}
		io.WriteString(w, "ok")
	})
	tr := &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(newKey, new(atomic.Int64))}
	resp, err := get(t, &http.Client{Transport: tr}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "ok" || calls.Load() != 2 {
		t.Errorf("body %q after %d calls, want ok after a refresh and a replay", got, calls.Load())
	}
}

func TestCustomRejectionMatcher(t *testing.T) {
	srv := newAPI(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+newKey {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"code": "KEY_EXPIRED"}`)
			return
		}
		io.WriteString(w, "ok")
	})
	tr := &transport.Transport{
		Credentials: credentials.Static(oldKey),
		Refresh:     countingRefresh(newKey, new(atomic.Int64)),
		IsRejection: func(resp *http.Response, body func() []byte) bool {
			return resp.StatusCode == 400 && bytes.Contains(body(), []byte("KEY_EXPIRED"))
		},
	}
	resp, err := get(t, &http.Client{Transport: tr}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "ok" {
		t.Errorf("body %q, want ok", got)
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}
