package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// TestRetryablehttpDefaultPolicyWouldRetryOurErrors documents why Retry
// uses its own policy: go-retryablehttp's retries any error.
func TestRetryablehttpDefaultPolicyWouldRetryOurErrors(t *testing.T) {
	ctx := context.Background()
	var p RetryPolicy
	for _, err := range []error{
		&apierr.APIError{StatusCode: 401, InvalidKey: true},
		apierr.ErrInsecureRequest,
		&credentials.MalformedKeyError{Problem: "empty"},
		credentials.ErrNoCredentials,
		credentials.ErrCacheClosed,
		context.Canceled,
		&apierr.APIError{StatusCode: 401, InvalidKey: true, RefreshFailed: true, Err: errors.New("hook down")},
	} {
		if lib, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !lib {
			t.Logf("go-retryablehttp's default policy no longer retries %v", err)
		}
		if p.retry(ctx, nil, err) {
			t.Errorf("RetryPolicy retries %v", err)
		}
	}
	for _, err := range []error{
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		io.ErrUnexpectedEOF,
	} {
		if !p.retry(ctx, nil, err) {
			t.Errorf("RetryPolicy does not retry the connection error %v", err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if p.retry(cancelled, &http.Response{StatusCode: 503}, nil) {
		t.Error("RetryPolicy retries after the context ended")
	}
}

// TestRetryablehttpLoggerWouldPrintKeys documents why Retry turns
// go-retryablehttp's logging off, and checks that it stays off.
func TestRetryablehttpLoggerWouldPrintKeys(t *testing.T) {
	srv := newScript(t, 503, 200)
	url := srv.URL + "/things?api_key=" + retryOldKey

	var libLog bytes.Buffer
	lib := retryablehttp.NewClient()
	lib.Logger = log.New(&libLog, "", 0)
	lib.RetryWaitMin, lib.RetryWaitMax = time.Millisecond, time.Millisecond
	if resp, err := lib.Get(url); err == nil {
		resp.Body.Close()
	}
	if !strings.Contains(libLog.String(), retryOldKey) {
		t.Logf("go-retryablehttp no longer logs query strings:\n%s", libLog.String())
	}

	r := &Retry{Base: &Transport{Credentials: credentials.Static(retryNewKey), Query: "api_key"}, Policy: fastPolicy}
	if _, err := send(t, &http.Client{Transport: r}, "GET", srv.URL+"/things", nil, nil); err != nil {
		t.Fatal(err)
	}
	s := r.pool.Get().(*retrier)
	if s.client.Logger != nil || s.client.RequestLogHook != nil || s.client.ResponseLogHook != nil {
		t.Error("Retry's go-retryablehttp client logs")
	}
}
