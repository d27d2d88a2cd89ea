package rekeytest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/rekeytest"
)

// status sends GET /v1/echo with key and returns the answer's status code,
// or 0 after printing a connection error.
func status(srv *rekeytest.Server, key string) int {
	req, _ := http.NewRequest("GET", srv.URL+"/v1/echo", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A test of code built on rekey.Client: the fake API rotates its keys
// under the client, which recovers on its own.
func ExampleNewServer() {
	srv := rekeytest.NewServer() // in a test: t.Cleanup(srv.Close)
	defer srv.Close()

	client, err := rekey.NewClient(srv.URL, rekey.WithRefresh(srv.Refresh))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for range 3 {
		req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
		if _, err := client.Do(req, nil); err != nil {
			fmt.Println(err)
		}
		srv.RotateAll()
	}
	st := srv.Stats()
	fmt.Println("keys issued:", st.KeysIssued, "rejections:", st.Rejections, "accepted:", st.Accepted)
	// Output:
	// keys issued: 3 rejections: 2 accepted: 3
}

// WithKeyTTL expires keys; WithClock lets a test move time on instead of
// waiting for it.
func ExampleWithKeyTTL() {
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := rekeytest.NewServer(rekeytest.WithKeyTTL(time.Hour), rekeytest.WithClock(clock))
	defer srv.Close()

	key := srv.IssueKey()
	fmt.Println("expires:", key.Expiry.Format(time.Kitchen))
	fmt.Println(status(srv, key.Key))
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	fmt.Println(status(srv, key.Key))
	// Output:
	// expires: 1:00PM
	// 200
	// 401
}

// WithClock makes expiry testable without waiting: here a key is expired
// as soon as the test says so.
func ExampleWithClock() {
	var mu sync.Mutex
	offset := time.Duration(0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	srv := rekeytest.NewServer(rekeytest.WithKeyTTL(10*time.Minute), rekeytest.WithClock(clock))
	defer srv.Close()

	key := srv.IssueKey()
	mu.Lock()
	offset = 11 * time.Minute // jump past the key's expiry
	mu.Unlock()
	fmt.Println(status(srv, key.Key), srv.Stats().Rejections)
	// Output:
	// 401 1
}

// With WithRevokeOnIssue, at most one key is valid at a time, as on many
// real APIs: minting a key revokes the older ones.
func ExampleWithRevokeOnIssue() {
	srv := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	defer srv.Close()
	first := srv.IssueKey()
	second := srv.IssueKey()
	fmt.Println(status(srv, first.Key), status(srv, second.Key), srv.Stats().LiveKeys)
	// Output:
	// 401 200 1
}

// WithRotateEvery revokes every key at an interval, in the background:
// a soak test of recovery.
func ExampleWithRotateEvery() {
	srv := rekeytest.NewServer(rekeytest.WithRotateEvery(10 * time.Millisecond))
	defer srv.Close()
	key := srv.IssueKey()
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().Rotations == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("after a rotation:", status(srv, key.Key))
	// Output:
	// after a rotation: 401
}

// WithFaults makes the server misbehave at random: 503s, dropped
// connections, slow answers. WithSeed makes the draws repeatable, so that
// a failing test fails the same way again.
func ExampleWithFaults() {
	srv := rekeytest.NewServer(
		rekeytest.WithFaults(rekeytest.Faults{UnavailableRate: 0.5}),
		rekeytest.WithSeed(42),
	)
	defer srv.Close()
	key := srv.IssueKey()
	var got []string
	for range 10 {
		got = append(got, fmt.Sprint(status(srv, key.Key)))
	}
	fmt.Println(strings.Join(got, " "))
	fmt.Println("faults:", srv.Stats().Faults.Unavailable)
	// Output:
	// 200 503 200 503 200 503 503 503 200 503
	// faults: 6
}

// Two servers with the same seed and faults make the same decisions for
// the same sequence of requests.
func ExampleWithSeed() {
	run := func() string {
		srv := rekeytest.NewServer(
			rekeytest.WithFaults(rekeytest.Faults{UnavailableRate: 0.3}),
			rekeytest.WithSeed(7),
		)
		defer srv.Close()
		key := srv.IssueKey()
		var got []string
		for range 8 {
			got = append(got, fmt.Sprint(status(srv, key.Key)))
		}
		return strings.Join(got, " ")
	}
	a, b := run(), run()
	fmt.Println("same:", a == b)
	// Output:
	// same: true
}

// WithLogger logs one line per request: method, path, status and request
// ID, never a key. (Time and request ID are left out here so that the
// output is the same every run.)
func ExampleWithLogger() {
	stable := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "request_id" {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: stable}))
	srv := rekeytest.NewServer(rekeytest.WithLogger(logger))
	defer srv.Close()
	key := srv.IssueKey()
	status(srv, key.Key)
	status(srv, "rk_test_notAKeyThisServerIssued000")
	// Output:
	// level=INFO msg="rekeytest request" method=GET path=/v1/echo status=200
	// level=INFO msg="rekeytest request" method=GET path=/v1/echo status=401
}

// WithAccountSecret fixes the secret that authorizes POST /v1/keys, for a
// refresh hook written against the real API's key endpoint.
func ExampleWithAccountSecret() {
	srv := rekeytest.NewServer(rekeytest.WithAccountSecret("acct_example_secret_0001"))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer acct_example_secret_0001")
	resp, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "keys issued:", srv.Stats().KeysIssued)
	fmt.Println(srv.AccountSecret() == "acct_example_secret_0001")

	// Output:
	// 201 Created keys issued: 1
	// true
}
