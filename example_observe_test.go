package rekey_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// Hooks feed metrics: count rejections by cause, refreshes by reason and
// outcome, replays. No event carries a key.
func ExampleWithHooks() {
	api := rekeytest.NewServer()
	defer api.Close()
	client, err := rekey.NewClient(api.URL,
		rekey.WithRefresh(api.Refresh),
		rekey.WithHooks(rekey.Hooks{
			KeyRejected:      func(ev transport.Event) { fmt.Println("rejected:", ev.StatusCode, ev.Cause) },
			RefreshSucceeded: func(ev credentials.RefreshEvent) { fmt.Println("refreshed:", ev.Reason) },
			RequestReplayed:  func(ev transport.Event) { fmt.Println("replayed:", ev.Method, ev.StatusCode) },
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	exampleGet(client, "/v1/echo")
	api.RotateAll()
	exampleGet(client, "/v1/echo")
	// Output:
	// refreshed: initial
	// rejected: 401 unknown
	// refreshed: rejected
	// replayed: GET 401
}

// The Client logs what it does on its own: rejections, refreshes, replays
// and retries, never a key or a URL's query. (The time, URL and duration
// attributes are left out here so that the output is the same every run.)
func ExampleWithLogger() {
	api := rekeytest.NewServer()
	defer api.Close()
	stable := func(groups []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case slog.TimeKey, "url", "duration", "request_id":
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: stable}))

	client, err := rekey.NewClient(api.URL, rekey.WithRefresh(api.Refresh), rekey.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	exampleGet(client, "/v1/echo")
	api.RotateAll()
	exampleGet(client, "/v1/echo")
	// Output:
	// level=INFO msg="rekey: API key refreshed" reason=initial attempts=1
	// level=WARN msg="rekey: API key rejected; refreshing it" method=GET status=401
	// level=INFO msg="rekey: API key refreshed" reason=rejected attempts=1
	// level=INFO msg="rekey: request replayed with a refreshed key" method=GET status=401
}

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
