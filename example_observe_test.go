package rekey_test

import (
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
