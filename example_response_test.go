package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// With WithReturnResponse, HTTPClient hands an SDK the API's own 401 when
// recovery fails, for the SDK to decode into its own error type; Do, on the
// same Client, still returns *APIError. Here the key is revoked and the
// refresh hook has nothing better than the same key.
func ExampleWithReturnResponse() {
	api := exampleAPI()
	defer api.Close()
	client, _ := rekey.NewClient(api.URL+"/v1",
		rekey.WithCredentials(credentials.Static("rk_live_revokedKey000000000")),
		rekey.WithReturnResponse(),
		rekey.WithHooks(rekey.Hooks{
			RefreshFailed: func(credentials.RefreshEvent) { fmt.Println("hook: refresh failed") },
		}),
		rekey.WithCooldown(-1), rekey.WithRejectedKeyCooldown(-1), // refresh on each request below, for the example
		rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: 1}))
	defer client.Close()

	resp, err := client.HTTPClient().Get(api.URL + "/v1/widgets/1")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Request-Id"), string(body))

	req, _ := client.NewRequest(context.Background(), "GET", "widgets/1", nil)
	_, err = client.Do(req, nil)
	fmt.Println("Do:", errors.Is(err, rekey.ErrInvalidAPIKey))
	// Output:
	// hook: refresh failed
	// 401 req_42 {"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}
	// hook: refresh failed
	// Do: true
}
