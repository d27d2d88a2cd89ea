package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// Transient failures (connection errors, 429, 502, 503, 504) are retried
// with jittered exponential backoff; RetryPolicy says how often and how
// long to wait.
func ExampleWithRetryPolicy() {
	api := rekeytest.NewServer()
	defer api.Close()
	api.FailNext(2, http.StatusServiceUnavailable, 0) // an outage of two requests

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static(api.IssueKey().Key)),
		rekey.WithRetryPolicy(transport.RetryPolicy{
			MaxAttempts: 5,
			MinWait:     10 * time.Millisecond,
			MaxWait:     time.Second,
		}),
		rekey.WithHooks(rekey.Hooks{RetryScheduled: func(ev transport.RetryEvent) {
			fmt.Println("attempt", ev.Attempt, "got", ev.StatusCode, "- retrying")
		}}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	resp, err := client.Do(req, nil)
	fmt.Println(resp.StatusCode, err)
	// Output:
	// attempt 1 got 503 - retrying
	// attempt 2 got 503 - retrying
	// 200 <nil>
}

// RetryError says how many attempts were made; errors.Is and errors.As see
// through it to the last cause.
func ExampleRetryError() {
	api := rekeytest.NewServer()
	defer api.Close()
	api.FailNext(10, http.StatusBadGateway, 0)

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static(api.IssueKey().Key)),
		rekey.WithRetryPolicy(transport.RetryPolicy{MaxAttempts: 3, MinWait: time.Millisecond}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	_, err = client.Do(req, nil)

	var retryErr *rekey.RetryError
	var apiErr *rekey.APIError
	if errors.As(err, &retryErr) && errors.As(err, &apiErr) {
		fmt.Println("attempts:", retryErr.Attempts, "last status:", apiErr.StatusCode)
	}
	fmt.Println("server error:", errors.Is(err, rekey.ErrServer))
	// Output:
	// attempts: 3 last status: 502
	// server error: true
}

// WithoutRetries leaves retrying to the caller (or to an SDK that retries
// on its own): a 503 comes back at once, as an *APIError matching
// ErrServer.
func ExampleWithoutRetries() {
	api := rekeytest.NewServer()
	defer api.Close()
	api.FailNext(1, http.StatusServiceUnavailable, 0)

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static(api.IssueKey().Key)),
		rekey.WithoutRetries(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	_, err = client.Do(req, nil)
	fmt.Println("server error:", errors.Is(err, rekey.ErrServer), "requests:", api.Stats().Requests)
	// Output:
	// server error: true requests: 1
}

// A POST is retried only when it carries an Idempotency-Key, which the API
// uses to perform it at most once. With WithIdempotencyKeys, NewRequest
// gives every POST one, the same for all its attempts.
func ExampleWithIdempotencyKeys() {
	var seen []string
	payments := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Idempotency-Key"))
		if len(seen) == 1 {
			w.WriteHeader(http.StatusBadGateway) // the charge may or may not have happened
			return
		}
		io.WriteString(w, `{"id": "ch_1", "status": "succeeded"}`)
	}))
	defer payments.Close()

	client, err := rekey.NewClient(payments.URL,
		rekey.WithCredentials(credentials.Static("sk_test_4eC39HqLyjWDarjtT1zdp7dc")),
		rekey.WithIdempotencyKeys(),
		rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: time.Millisecond}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "POST", "/v1/charges", map[string]any{"amount": 2000})
	var charge struct{ ID, Status string }
	_, err = client.Do(req, &charge)
	fmt.Println(charge.Status, err)
	fmt.Println("attempts:", len(seen), "same key:", seen[0] == seen[1] && seen[0] == req.Header.Get("Idempotency-Key"))
	// Output:
	// succeeded <nil>
	// attempts: 2 same key: true
}

// WithTimeout bounds a whole call of Do, retries and waits included.
func ExampleWithTimeout() {
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	}))
	defer stuck.Close()

	client, err := rekey.NewClient(stuck.URL,
		rekey.WithCredentials(credentials.Static("sk_test_4eC39HqLyjWDarjtT1zdp7dc")),
		rekey.WithTimeout(100*time.Millisecond),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/slow", nil)
	_, err = client.Do(req, nil)
	fmt.Println("timed out:", errors.Is(err, context.DeadlineExceeded))
	// Output:
	// timed out: true
}

// The User-Agent of requests made with NewRequest, which API providers see
// in their logs.
func ExampleWithUserAgent() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("User-Agent:", r.UserAgent())
	}))
	defer api.Close()

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("sk_test_4eC39HqLyjWDarjtT1zdp7dc")),
		rekey.WithUserAgent("billing-service/1.4 "+rekey.DefaultUserAgent),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	exampleGet(client, "/v1/things")
	// Output:
	// User-Agent: billing-service/1.4 rekey-go
}

// A connection pool of your own, for example with more idle connections
// per host or custom TLS settings, below rekey's layers. It is yours to
// close: Client.Close leaves it open for other Clients.
func ExampleWithTransport() {
	api := rekeytest.NewServer()
	defer api.Close()
	pool := http.DefaultTransport.(*http.Transport).Clone()
	pool.MaxIdleConnsPerHost = 100
	defer pool.CloseIdleConnections()

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static(api.IssueKey().Key)),
		rekey.WithTransport(pool),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	resp, err := client.Do(req, nil)
	fmt.Println(resp.StatusCode, err)
	// Output:
	// 200 <nil>
}

// countingTransport counts the requests that reach it.
type countingTransport struct {
	base http.RoundTripper
	n    int
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n++
	return t.base.RoundTrip(req)
}

// An *http.Client that the application already configured: its Transport
// goes below rekey's layers (every attempt, replays included, goes through
// it), and its Timeout, Jar and CheckRedirect apply to the Client.
func ExampleWithHTTPClient() {
	api := rekeytest.NewServer()
	defer api.Close()
	key := api.IssueKey()
	api.Revoke(key.Key)

	counted := &countingTransport{base: http.DefaultTransport}
	hc := &http.Client{Transport: counted, Timeout: 30 * time.Second}
	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static(key.Key)),
		rekey.WithRefresh(api.Refresh),
		rekey.WithHTTPClient(hc),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	exampleGet(client, "/v1/echo")
	fmt.Println("requests through the application's transport:", counted.n)
	// Output:
	// requests through the application's transport: 2
}
