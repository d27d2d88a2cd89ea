package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// A POST without an Idempotency-Key whose connection drops is not retried,
// since the API may have performed it: the error says so, and matches
// ErrConnection.
func ExampleConnectionError() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close() // the connection drops before any answer
	}))
	defer api.Close()
	client, _ := rekey.NewClient(api.URL, rekey.WithCredentials(credentials.Static("rk_live_0123456789abcdef")))
	defer client.Close()

	req, _ := client.NewRequest(context.Background(), http.MethodPost, "payments", map[string]int{"amount": 100})
	_, err := client.Do(req, nil)

	var connErr *rekey.ConnectionError
	if errors.As(err, &connErr) {
		fmt.Println("connection failed:", errors.Is(err, rekey.ErrConnection))
		fmt.Println("API answered first:", connErr.StatusCode != 0)
		fmt.Println("not retried:", connErr.NotRetried)
	}
	// Output:
	// connection failed: true
	// API answered first: false
	// not retried: a POST without an Idempotency-Key header may have been performed; send it again only if doing it twice is safe
}

// A program (or a test about to check for leaked goroutines) that wants no
// keep-alive connection left open closes those of the pool that Clients
// share; Clients open new ones as needed.
func ExampleCloseIdleConnections() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer api.Close()
	client, _ := rekey.NewClient(api.URL, rekey.WithCredentials(credentials.Static("rk_live_0123456789abcdef")))
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), http.MethodGet, "ping", nil)
	_, err := client.Do(req, nil) // leaves its connection open for the next request
	fmt.Println("request:", err)

	rekey.CloseIdleConnections()
	// Output:
	// request: <nil>
}
