package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// The key comes from the environment when it is set there, else from a
// file mounted by the platform (a Kubernetes secret, say).
func ExampleWithCredentials() {
	api := rekeytest.NewServer()
	defer api.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "api-key") // /var/run/secrets/example-api/api-key
	os.WriteFile(keyFile, []byte(api.IssueKey().Key+"\n"), 0o600)

	client, err := rekey.NewClient(api.URL, rekey.WithCredentials(credentials.Chain(
		credentials.Env("EXAMPLE_UNSET_API_KEY"), // unset here: the chain moves on
		credentials.File(keyFile),
	)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/key", nil)
	var status struct{ Valid bool }
	_, err = client.Do(req, &status)
	fmt.Println("valid:", status.Valid, err)
	// Output:
	// valid: true <nil>
}

// With only a refresh hook, the hook supplies the first key as well as
// every replacement; its context says why it is called.
func ExampleWithRefresh() {
	api := rekeytest.NewServer()
	defer api.Close()
	mint := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		reason, _ := credentials.RefreshReasonFrom(ctx)
		fmt.Println("minting a key:", reason)
		return api.Refresh(ctx, rejected) // POST /v1/keys with the account secret
	}
	client, err := rekey.NewClient(api.URL, rekey.WithRefresh(mint))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	exampleGet(client, "/v1/echo")
	api.RotateAll() // every key issued so far is revoked
	exampleGet(client, "/v1/echo")
	fmt.Println("rejections the caller saw: 0; at the API:", api.Stats().Rejections)
	// Output:
	// minting a key: initial
	// minting a key: rejected
	// rejections the caller saw: 0; at the API: 1
}

// A refresh that fails is not retried for every request: for the cooldown,
// later requests get the same failure at once.
func ExampleWithCooldown() {
	api := rekeytest.NewServer()
	defer api.Close()
	calls := 0
	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("rk_test_revokedLongAgo000000000")),
		rekey.WithRefresh(func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			calls++ // Permanent: no retries within this refresh, for the example
			return credentials.Credential{}, credentials.Permanent(errors.New("key service: account suspended"))
		}),
		rekey.WithCooldown(time.Minute),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for range 3 {
		req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
		_, err := client.Do(req, nil)
		fmt.Println(errors.Is(err, rekey.ErrInvalidAPIKey), errors.Is(err, rekey.ErrRefreshFailed))
	}
	fmt.Println("hook calls:", calls)
	// Output:
	// true true
	// true true
	// true true
	// hook calls: 1
}

// The refresh produced a key that the API rejects too (here the hook reads
// a secret store that still holds a revoked key). Until the cooldown has
// passed, requests with that key fail at once, without calling the hook:
// on an API where minting revokes the previous key, this stops a loop of
// mint, reject, mint.
func ExampleWithRejectedKeyCooldown() {
	api := rekeytest.NewServer()
	defer api.Close()
	stale := api.IssueKey()
	api.Revoke(stale.Key)
	calls := 0
	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("rk_test_revokedLongAgo000000000")),
		rekey.WithRefresh(func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			calls++
			return stale, nil
		}),
		rekey.WithRejectedKeyCooldown(5*time.Minute),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for range 3 {
		req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
		_, err := client.Do(req, nil)
		fmt.Println(errors.Is(err, rekey.ErrInvalidAPIKey), errors.Is(err, credentials.ErrRefreshedKeyRejected))
	}
	fmt.Println("hook calls:", calls, "requests at the API:", api.Stats().Requests)
	// Output:
	// true false
	// true true
	// true true
	// hook calls: 1 requests at the API: 4
}

// A key with a known expiry is replaced in the background before it
// expires, while requests go on with it: none is rejected and none waits.
// The refresh starts WithExpiryWindow before the expiry, or halfway
// through the key's remaining life if that is later: here, after about 2
// of this key's 4 seconds.
func ExampleWithExpiryWindow() {
	api := rekeytest.NewServer(rekeytest.WithKeyTTL(4 * time.Second))
	defer api.Close()
	replaced := make(chan credentials.RefreshReason, 1)
	client, err := rekey.NewClient(api.URL,
		rekey.WithRefresh(api.Refresh), // its keys come with their expiry
		rekey.WithExpiryWindow(time.Minute),
		rekey.WithHooks(rekey.Hooks{RefreshSucceeded: func(ev credentials.RefreshEvent) {
			if ev.Reason != credentials.ReasonInitial {
				select {
				case replaced <- ev.Reason:
				default:
				}
			}
		}}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	deadline := time.After(20 * time.Second)
	for done := false; !done; { // a busy service
		exampleGet(client, "/v1/echo")
		select {
		case reason := <-replaced:
			// "expiring"; "expired" only if this loop stalled for seconds
			fmt.Println("key replaced:", reason == credentials.ReasonExpiring || reason == credentials.ReasonExpired)
			done = true
		case <-deadline:
			fmt.Println("no refresh")
			done = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	fmt.Println("rejections:", api.Stats().Rejections)
	// Output:
	// key replaced: true
	// rejections: 0
}

// AWS API Gateway rejects an invalid key with a bare 403, which only its
// x-amzn-ErrorType header tells apart from a permission problem; the
// default matcher leaves a 403 alone unless its body names the key.
func ExampleWithRejection() {
	current := "gw0000000000000000000000000002"
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != current {
			w.Header().Set("X-Amzn-Errortype", "ForbiddenException")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Forbidden"}`)
			return
		}
		io.WriteString(w, `{"id":"1"}`)
	}))
	defer gateway.Close()

	client, err := rekey.NewClient(gateway.URL,
		rekey.WithCredentials(credentials.Static("gw0000000000000000000000000001")),
		rekey.WithRefresh(func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: current}, nil // from your key store
		}),
		rekey.WithHeader("X-API-Key"),
		rekey.WithRejection(transport.AnyOf(transport.IsInvalidKeyRejection,
			transport.StatusHeader(http.StatusForbidden, "X-Amzn-Errortype", "ForbiddenException"))),
		rekey.WithHooks(rekey.Hooks{KeyRejected: func(ev transport.Event) { fmt.Println("key rejected:", ev.StatusCode) }}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/prod/items/1", nil)
	var item struct{ ID string }
	_, err = client.Do(req, &item)
	fmt.Println(item.ID, err)
	// Output:
	// key rejected: 403
	// 1 <nil>
}
