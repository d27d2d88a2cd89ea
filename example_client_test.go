package rekey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// exampleAPI is an API that accepts one key at a time and rotates it on
// POST /v1/keys; its first GET /v1/widgets/1 answers 503.
func exampleAPI() *httptest.Server {
	var current atomic.Value
	current.Store("rk_live_exampleKey0000000001")
	var minted, widgetCalls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		key := fmt.Sprintf("rk_live_exampleKey%010d", minted.Add(1)+1)
		current.Store(key)
		json.NewEncoder(w).Encode(map[string]string{"key": key})
	})
	mux.HandleFunc("GET /v1/widgets/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_42")
		if r.Header.Get("Authorization") != "Bearer "+current.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`)
			return
		}
		if widgetCalls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.PathValue("id") != "1" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error": "not_found", "message": "No such widget."}`)
			return
		}
		io.WriteString(w, `{"id": "1", "name": "sprocket"}`)
	})
	return httptest.NewServer(mux)
}

// mintKey is a refresh hook that asks the API for a new key.
func mintKey(baseURL string) credentials.RefreshFunc {
	return func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", baseURL+"/v1/keys", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return credentials.Credential{}, err
		}
		defer resp.Body.Close()
		var v struct{ Key string }
		err = json.NewDecoder(resp.Body).Decode(&v)
		return credentials.Credential{Key: v.Key}, err
	}
}

// A Client for an API whose key was revoked: the first request is rejected,
// the refresh hook mints a new key, the request is replayed, and a 503 on
// the way is retried. The caller sees only the widget.
func ExampleNewClient() {
	api := exampleAPI()
	defer api.Close()

	client, err := rekey.NewClient(api.URL+"/v1",
		rekey.WithCredentials(credentials.Static("rk_live_revokedKey000000000")),
		rekey.WithRefresh(mintKey(api.URL)),
		rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: 1}), // wait little, for the example
		rekey.WithHooks(rekey.Hooks{
			KeyRejected:     func(transport.Event) { fmt.Println("key rejected") },
			RequestReplayed: func(transport.Event) { fmt.Println("replayed with a new key") },
			RetryScheduled:  func(e transport.RetryEvent) { fmt.Println("retrying after", e.StatusCode) },
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	req, _ := client.NewRequest(context.Background(), "GET", "widgets/1", nil)
	var widget struct{ ID, Name string }
	if _, err := client.Do(req, &widget); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(widget.Name)
	// Output:
	// key rejected
	// replayed with a new key
	// retrying after 503
	// sprocket
}

// Do turns error responses into *APIError, with the API's code, message and
// request ID, and sentinels for errors.Is.
func ExampleClient_Do() {
	api := exampleAPI()
	defer api.Close()
	client, _ := rekey.NewClient(api.URL+"/v1",
		rekey.WithCredentials(credentials.Static("rk_live_exampleKey0000000001")),
		rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: 1}))
	defer client.Close()

	req, _ := client.NewRequest(context.Background(), "GET", "widgets/7", nil)
	_, err := client.Do(req, nil)
	var apiErr *rekey.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Message, apiErr.RequestID)
	}
	fmt.Println("invalid key:", errors.Is(err, rekey.ErrInvalidAPIKey))
	fmt.Println("server error:", errors.Is(err, rekey.ErrServer))
	// Output:
	// 404 not_found No such widget. req_42
	// invalid key: false
	// server error: false
}

// HTTPClient hands the whole stack (retries, key injection, recovery) to
// code that takes an *http.Client, such as a generated API client.
func ExampleClient_HTTPClient() {
	api := exampleAPI()
	defer api.Close()
	client, _ := rekey.NewClient(api.URL+"/v1",
		rekey.WithCredentials(credentials.Static("rk_live_exampleKey0000000001")),
		rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: 1}))
	defer client.Close()

	hc := client.HTTPClient()
	resp, err := hc.Get(api.URL + "/v1/widgets/1") // a 503, retried, then 200
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	// Output:
	// 200 {"id": "1", "name": "sprocket"}
}
