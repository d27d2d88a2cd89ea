package rekey_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
)

// NewRequest resolves the path against the base URL, encodes the body as
// JSON and sets the headers; nothing is sent until Do.
func ExampleClient_NewRequest() {
	client, err := rekey.NewClient("https://api.example.com/v1",
		rekey.WithCredentials(credentials.Env("EXAMPLE_API_KEY")),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	ctx := context.Background()
	req, err := client.NewRequest(ctx, "POST", "widgets?notify=true", map[string]string{"name": "sprocket"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Method, req.URL)
	fmt.Println(req.Header.Get("Content-Type"), req.Header.Get("User-Agent"))

	// A path cannot leave the API's host, even when built from user input.
	_, err = client.NewRequest(ctx, "GET", "//evil.example/steal", nil)
	fmt.Println(err)
	// Output:
	// POST https://api.example.com/v1/widgets?notify=true
	// application/json rekey-go
	// rekey: request path https://evil.example/steal leaves the base URL https://api.example.com/v1/: use a path on the same host (a Client sends its key to one API)
}

// BaseURL is the URL that request paths are resolved against.
func ExampleClient_BaseURL() {
	client, err := rekey.NewClient("https://api.example.com/v1",
		rekey.WithCredentials(credentials.Env("EXAMPLE_API_KEY")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fmt.Println(client.BaseURL(), client.BaseURL().JoinPath("widgets"))
	// Output:
	// https://api.example.com/v1/ https://api.example.com/v1/widgets
}

// Close stops the Client's background refreshes. Requests made afterwards
// still use the key it holds, but a rejected key can no longer be replaced.
func ExampleClient_Close() {
	api := rekeytest.NewServer()
	defer api.Close()
	client, err := rekey.NewClient(api.URL, rekey.WithRefresh(api.Refresh))
	if err != nil {
		fmt.Println(err)
		return
	}
	exampleGet(client, "/v1/echo") // the first key
	client.Close()

	req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	_, err = client.Do(req, nil)
	fmt.Println("after Close:", err)
	api.RotateAll()
	req, _ = client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	_, err = client.Do(req, nil)
	fmt.Println("rejected, not refreshed:", errors.Is(err, rekey.ErrInvalidAPIKey), errors.Is(err, credentials.ErrCacheClosed))
	// Output:
	// after Close: <nil>
	// rejected, not refreshed: true true
}
