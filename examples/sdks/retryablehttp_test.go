package sdks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/rekeyhq/rekey"
)

// exampleAPI is an API in the most common shape, the one rekey's design
// starts from: the key in X-API-Key, request IDs in X-Request-Id, and
// {"error": "Invalid API Key", "message": "..."} in a 401 for a bad key.
var keyHeaderAPI = vendor{
	name:            "example",
	keyHeader:       "X-Api-Key",
	requestIDHeader: "X-Request-Id",
	rejection:       `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`,
	unavailable:     `{"error": "Service Unavailable", "message": "Try again later."}`,
	serve: func(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/widgets":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id": "w_1", "request": %q}`, body)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/widgets/w_1":
			fmt.Fprint(w, `{"id": "w_1"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error": "Not Found", "message": "No such endpoint."}`)
		}
	},
}

// retryablehttpLog collects what go-retryablehttp logs, to check that no
// key is there.
var retryablehttpLog = &lockedBuffer{}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newRetryableHTTP wires go-retryablehttp to rekey: rekey's http.Client
// underneath, short waits, and PassthroughErrorHandler, so that after its
// last retry the caller gets the last response (or error) rather than
// "giving up after N attempt(s)" without it. retries < 0 keeps the default
// (4).
func newRetryableHTTP(hc *http.Client, retries int) *retryablehttp.Client {
	c := retryablehttp.NewClient()
	c.HTTPClient = hc
	c.Logger = log.New(retryablehttpLog, "", 0)
	c.RetryWaitMin, c.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	if retries >= 0 {
		c.RetryMax = retries
	}
	return c
}

// statusError is an error status that the caller got as a response, as an
// application's wrapper would report it.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, http.StatusText(e.status), e.body)
}

func retryableDo(c *retryablehttp.Client, req *retryablehttp.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return &statusError{resp.StatusCode, string(body)}
	}
	return nil
}

var retryablehttpSDK = sdk{
	name:          "go-retryablehttp",
	vendor:        keyHeaderAPI,
	keys:          "ak_live_rekeytest",
	options:       []rekey.Option{rekey.WithHeader("X-API-Key")},
	sdkRetries:    4,
	sdkRetries5xx: true,
	retriesErrors: true,
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/widgets", strings.NewReader(`{"name": "sprocket"}`))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		return retryableDo(newRetryableHTTP(hc, retries), req)
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/widgets/w_1", nil)
		if err != nil {
			return err
		}
		return retryableDo(newRetryableHTTP(hc, retries), req)
	},
	status: func(err error) (int, bool) {
		var e *statusError
		if errors.As(err, &e) {
			return e.status, true
		}
		return 0, false
	},
	own: func(err error) error {
		var e *statusError
		if !errors.As(err, &e) || !strings.Contains(e.body, "Invalid API Key") {
			return fmt.Errorf("%#v; want the API's own 401 body", err)
		}
		return nil
	},
	dump: func(error) string { return retryablehttpLog.String() },
}

// TestRetryableHTTP runs the scenarios with
// github.com/hashicorp/go-retryablehttp over rekey's http.Client.
func TestRetryableHTTP(t *testing.T) { runSDK(t, retryablehttpSDK) }

// TestRetryableHTTPCheckRetryStopsOnInvalidKey: in error mode,
// go-retryablehttp's default policy retries rekey's invalid-key error four
// times (6 requests, 1 refresh, as the scenarios count); a CheckRetry that
// stops on rekey.ErrInvalidAPIKey, as in Example_retryablehttp, sends 2.
func TestRetryableHTTPCheckRetryStopsOnInvalidKey(t *testing.T) {
	r := newRig(t, retryablehttpSDK, false, false, rekey.WithoutRetries())
	c := newRetryableHTTP(r.hc, -1)
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if errors.Is(err, rekey.ErrInvalidAPIKey) {
			return false, err
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	req, err := retryablehttp.NewRequest(http.MethodGet, r.base+"/v1/widgets/w_1", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = retryableDo(c, req)
	var apiErr *rekey.APIError
	if !errors.As(err, &apiErr) || !apiErr.Replayed {
		t.Fatalf("err = %v; want rekey's error for the replay", err)
	}
	r.counts(t, 2, 1)
}
