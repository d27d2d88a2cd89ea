package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// TestWithReturnResponse: HTTPClient hands an SDK the API's own 401 after a
// failed recovery, while Do, on the same Client and key cache, still
// returns the *APIError; the hooks report the failed recovery either way.
func TestWithReturnResponse(t *testing.T) {
	api := newFakeAPI(t) // accepts no key
	var refreshes, replayRejected atomic.Int64
	client := newTestClient(t, api,
		rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: mintedKey(refreshes.Add(1))}, nil
		}),
		rekey.WithReturnResponse(),
		rekey.WithCooldown(-1), rekey.WithRejectedKeyCooldown(-1), // each request below refreshes anew
		rekey.WithHooks(rekey.Hooks{ReplayRejected: func(transport.Event) { replayRejected.Add(1) }}),
	)

	resp, err := client.HTTPClient().Get(api.URL + "/v1/things/1")
	if err != nil {
		t.Fatalf("HTTPClient: err = %v; want the API's 401 as a response", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Request-Id") != "req-2" ||
		!strings.Contains(string(body), "The API key provided is not valid or has expired.") {
		t.Errorf("HTTPClient: got %d, request %q, body %q; want the replay's 401 intact", resp.StatusCode, resp.Header.Get("X-Request-Id"), body)
	}
	if refreshes.Load() != 1 || replayRejected.Load() != 1 || api.calls.Load() != 2 {
		t.Errorf("HTTPClient: %d refreshes, %d ReplayRejected hooks, %d requests; want 1, 1, 2", refreshes.Load(), replayRejected.Load(), api.calls.Load())
	}

	_, resp, err = get(t, client, "things/1")
	var apiErr *rekey.APIError
	if resp != nil || !errors.As(err, &apiErr) || !apiErr.Replayed || !errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("Do: got %v, %v; want an *APIError for the replayed, rejected request", resp, err)
	}
	if replayRejected.Load() != 2 {
		t.Errorf("Do: ReplayRejected hook called %d times in all, want 2", replayRejected.Load())
	}
	if s := fmt.Sprintf("%v %+v %#v", err, err, client); strings.Contains(s, clientKey1) || strings.Contains(s, mintedKey(1)) || strings.Contains(s, mintedKey(2)) {
		t.Errorf("a key is printed: %s", s)
	}
}

// TestHTTPClientErrorModeByDefault: without WithReturnResponse the
// rejection stays an error, and a retry of it within the cooldown does not
// call the refresh hook again.
func TestHTTPClientErrorModeByDefault(t *testing.T) {
	api := newFakeAPI(t)
	var refreshes atomic.Int64
	client := newTestClient(t, api,
		rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			refreshes.Add(1)
			return credentials.Credential{Key: clientKey2}, nil
		}),
	) // the default RejectedKeyCooldown (10s) outlasts the three attempts below
	for i := range 3 {
		resp, err := client.HTTPClient().Get(api.URL + "/v1/things/1")
		if resp != nil || !errors.Is(err, rekey.ErrInvalidAPIKey) {
			t.Fatalf("attempt %d: %v, %v; want an error matching ErrInvalidAPIKey", i, resp, err)
		}
	}
	if refreshes.Load() != 1 || api.calls.Load() != 4 {
		t.Errorf("%d refreshes, %d requests; want 1 and 4", refreshes.Load(), api.calls.Load())
	}
}

// mintedKey is the n-th key a test's refresh hook mints.
func mintedKey(n int64) string { return fmt.Sprintf("rk_test_MINTED%014d", n) }
