package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// Application code branches on the invalid-key error with errors.Is: it
// matches whether the key was refreshed and still rejected, or could not be
// refreshed at all.
func Example_errorsIs() {
	api := rekeytest.NewServer()
	defer api.Close()
	key := api.IssueKey()
	api.Revoke(key.Key) // the key was revoked, and there is no way to get a new one

	client := &http.Client{Transport: &transport.Transport{Credentials: credentials.Static(key.Key)}}
	_, err := client.Get(api.URL + "/v1/echo")
	switch {
	case errors.Is(err, rekey.ErrInvalidAPIKey):
		fmt.Println("the API key is invalid: rotate it at its source")
	case err != nil:
		fmt.Println("request failed:", err)
	}
	// Output:
	// the API key is invalid: rotate it at its source
}

// errors.As gives the server's own words, its request ID and what rekey did
// about the rejection.
func ExampleAPIError() {
	api := rekeytest.NewServer()
	defer api.Close()

	client := &http.Client{Transport: &transport.Transport{
		Credentials: credentials.Static("rk_test_neverIssuedByThisServer0001"),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{}, credentials.Permanent(errors.New("key vault: access denied"))
		},
	}}
	_, err := client.Get(api.URL + "/v1/echo")
	var apiErr *rekey.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("status:", apiErr.StatusCode)
		fmt.Println("code:", apiErr.Code)
		fmt.Println("message:", apiErr.Message)
		fmt.Println("has request ID:", apiErr.RequestID != "")
		fmt.Println("refresh failed:", errors.Is(err, rekey.ErrRefreshFailed))
	}
	// Output:
	// status: 401
	// code: Invalid API Key
	// message: The API key provided is not valid or has expired.
	// has request ID: true
	// refresh failed: true
}

// The key comes from an environment variable; when the API rejects it, the
// refresh hook mints a new one (here through the fake service's key
// endpoint), every goroutine switches to it, and the request is replayed.
// The caller never notices.
func Example_envWithRefresh() {
	api := rekeytest.NewServer()
	defer api.Close()
	os.Setenv("EXAMPLE_API_KEY", api.IssueKey().Key)
	api.RotateAll() // the key in the environment is now revoked

	tr := &transport.Transport{
		Credentials: credentials.Env("EXAMPLE_API_KEY"),
		Refresh:     api.Refresh, // a credentials.RefreshFunc
		OnEvent:     func(e transport.Event) { fmt.Println("rekey:", e.Kind) },
	}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr}).Get(api.URL + "/v1/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// rekey: key rejected
	// rekey: request replayed
	// 200 OK
}

// Any code that takes an *http.Client (generated API clients, other SDKs)
// gets key injection and recovery by using a Transport. The default sends
// "Authorization: Bearer <key>"; Header and Query select other placements.
func Example_httpClient() {
	api := rekeytest.NewServer()
	defer api.Close()

	client := &http.Client{Transport: &transport.Transport{
		Credentials: credentials.Static(api.IssueKey().Key),
		Header:      "X-API-Key",
	}}
	resp, err := client.Get(api.URL + "/v1/key")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.StatusCode)
	// Output:
	// 200
}
