package transport_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// Retry goes outside the Transport, so that every attempt takes the
// current key: a 503 with Retry-After is retried after the wait the server
// asked for, and the caller sees the 200.
func ExampleRetry() {
	api := rekeytest.NewServer()
	defer api.Close()
	api.FailNext(1, http.StatusServiceUnavailable, time.Second) // 503, Retry-After: 1

	client := &http.Client{Transport: &transport.Retry{
		Base: &transport.Transport{Credentials: credentials.Static(api.IssueKey().Key)},
		OnRetry: func(ev transport.RetryEvent) {
			fmt.Println("attempt", ev.Attempt, "got", ev.StatusCode, "- waiting", ev.Wait)
		},
	}}
	resp, err := client.Get(api.URL + "/v1/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// attempt 1 got 503 - waiting 1s
	// 200 OK
}

// RetryPolicy says what is retried and how long to wait. Here also 500,
// which this API answers for transient failures, up to 3 attempts with
// short waits; and POSTs, which get an Idempotency-Key so that the API
// performs each at most once.
func ExampleRetryPolicy() {
	api := rekeytest.NewServer()
	defer api.Close()
	api.FailNext(2, http.StatusInternalServerError, 0)

	client := &http.Client{Transport: &transport.Retry{
		Base: &transport.Transport{Credentials: credentials.Static(api.IssueKey().Key)},
		Policy: transport.RetryPolicy{
			MaxAttempts:     3,
			MinWait:         10 * time.Millisecond,
			MaxWait:         100 * time.Millisecond,
			Statuses:        []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable},
			IdempotencyKeys: true,
		},
	}}
	resp, err := client.Post(api.URL+"/v1/echo", "application/json", strings.NewReader(`{"amount": 2000}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "after", api.Stats().Requests, "requests; bodies received:", len(api.Bodies()))
	// Output:
	// 200 OK after 3 requests; bodies received: 1
}

// When retries run out, the error says how many attempts were made and
// wraps the last cause, an *rekey.APIError for a response.
func ExampleRetryError() {
	api := rekeytest.NewServer()
	defer api.Close()
	api.FailNext(5, http.StatusBadGateway, 0)

	client := &http.Client{Transport: &transport.Retry{
		Base:   &transport.Transport{Credentials: credentials.Static(api.IssueKey().Key)},
		Policy: transport.RetryPolicy{MaxAttempts: 2, MinWait: time.Millisecond},
	}}
	_, err := client.Get(api.URL + "/v1/echo")
	var retryErr *transport.RetryError
	if errors.As(err, &retryErr) {
		fmt.Println(retryErr.Method, retryErr.Attempts, "attempts")
	}
	var apiErr *rekey.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("last status:", apiErr.StatusCode, "server error:", errors.Is(err, rekey.ErrServer))
	}
	// Output:
	// GET 2 attempts
	// last status: 502 server error: true
}

// An Idempotency-Key of your own, to keep across your own retries of a
// request (RetryPolicy.IdempotencyKeys makes one per request).
func ExampleNewIdempotencyKey() {
	key := transport.NewIdempotencyKey()
	req, _ := http.NewRequest("POST", "https://api.example.com/v1/charges", strings.NewReader(`{"amount": 2000}`))
	req.Header.Set(transport.IdempotencyKeyHeader, key)
	fmt.Println(len(key), key[14:15]) // a random version 4 UUID: 36 characters, version "4"
	// Output:
	// 36 4
}
