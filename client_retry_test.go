package rekey_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

func TestClientTransientRetries(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		opts        []rekey.Option
		header      http.Header
		queue       []int
		wantCalls   int64
		wantRetries int64
		wantStatus  int   // 0: want an error
		wantErr     error // for wantStatus 0
	}{
		{name: "503, 503, 200: success after 3 attempts", method: "GET", queue: []int{503, 503}, wantCalls: 3, wantRetries: 2, wantStatus: 200},
		{name: "POST without Idempotency-Key is not retried", method: "POST", queue: []int{503}, wantCalls: 1, wantStatus: 0, wantErr: rekey.ErrServer},
		{name: "POST with Idempotency-Key is retried", method: "POST", header: http.Header{"Idempotency-Key": {"pay-1"}}, queue: []int{503}, wantCalls: 2, wantRetries: 1, wantStatus: 200},
		{name: "WithIdempotencyKeys retries every POST", method: "POST", opts: []rekey.Option{rekey.WithIdempotencyKeys()}, queue: []int{502, 504}, wantCalls: 3, wantRetries: 2, wantStatus: 200},
		{name: "400 is not retried", method: "GET", queue: []int{400}, wantCalls: 1, wantErr: nil},
		{name: "retries run out", method: "GET", queue: []int{503, 503, 503, 503}, wantCalls: 4, wantRetries: 3, wantErr: rekey.ErrServer},
		{name: "WithoutRetries", method: "GET", opts: []rekey.Option{rekey.WithoutRetries()}, queue: []int{503}, wantCalls: 1, wantErr: rekey.ErrServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, clientKey1)
			api.enqueue(tt.queue...)
			var retries atomic.Int64
			opts := append([]rekey.Option{
				rekey.WithCredentials(credentials.Static(clientKey1)), fastRetries,
				rekey.WithHooks(rekey.Hooks{RetryScheduled: func(transport.RetryEvent) { retries.Add(1) }}),
			}, tt.opts...)
			c := newTestClient(t, api, opts...)
			req, err := c.NewRequest(context.Background(), tt.method, "echo", map[string]int{"n": 1})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := c.Do(req, nil)
			if got := api.calls.Load(); got != tt.wantCalls {
				t.Errorf("server saw %d attempts, want %d", got, tt.wantCalls)
			}
			if got := retries.Load(); got != tt.wantRetries {
				t.Errorf("%d RetryScheduled hooks, want %d", got, tt.wantRetries)
			}
			_, bodies := api.received()
			for i, b := range bodies {
				if b != `{"n":1}` {
					t.Errorf("attempt %d sent body %q", i+1, b)
				}
			}
			if tt.wantStatus != 0 {
				if err != nil || resp.StatusCode != tt.wantStatus {
					t.Fatalf("Do = %v, %v; want %d", resp, err, tt.wantStatus)
				}
				return
			}
			var apiErr *rekey.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
			if tt.wantCalls > 1 {
				var re *rekey.RetryError
				if !errors.As(err, &re) || re.Attempts != int(tt.wantCalls) || !strings.Contains(err.Error(), "after 4 attempts") {
					t.Errorf("err = %v, want a RetryError saying how many attempts", err)
				}
			}
		})
	}
}

func TestClientHonoursRetryAfter(t *testing.T) {
	api := newFakeAPI(t, clientKey1)
	api.enqueue(429)
	api.header.Set("Retry-After", "1")
	var waits []time.Duration
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)), fastRetries,
		rekey.WithHooks(rekey.Hooks{RetryScheduled: func(ev transport.RetryEvent) { waits = append(waits, ev.Wait) }}))
	start := time.Now()
	_, resp, err := get(t, c, "things/1")
	elapsed := time.Since(start)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Do = %v, %v", resp, err)
	}
	// At least the second asked for; how much longer depends on the
	// machine, and the scheduled wait below is exactly what was asked.
	if elapsed < time.Second {
		t.Errorf("took %v, want at least the second Retry-After asked for", elapsed)
	}
	if len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("waits = %v, want [1s]", waits)
	}
}

func TestClientRetryAfterOverTheCapIsNotWaited(t *testing.T) {
	api := newFakeAPI(t, clientKey1)
	api.enqueue(429)
	api.header.Set("Retry-After", "3600")
	var retries atomic.Int64
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithHooks(rekey.Hooks{RetryScheduled: func(transport.RetryEvent) { retries.Add(1) }}))
	_, _, err := get(t, c, "things/1")
	// At once: no retry was scheduled and the API saw one request (a wait
	// of an hour would not return before the test's own timeout).
	if !errors.Is(err, rekey.ErrRateLimited) || retries.Load() != 0 || api.calls.Load() != 1 {
		t.Errorf("err = %v after %d retries and %d requests, want ErrRateLimited at once", err, retries.Load(), api.calls.Load())
	}
}

func TestClientInvalidKeyDuringRetriesRefreshesOnceAndContinues(t *testing.T) {
	api := newFakeAPI(t)
	m := &minter{api: api}
	var rejected, replayed atomic.Int64
	c := newTestClient(t, api, rekey.WithRefresh(m.refresh), fastRetries,
		rekey.WithHooks(rekey.Hooks{
			KeyRejected:     func(transport.Event) { rejected.Add(1) },
			RequestReplayed: func(transport.Event) { replayed.Add(1) },
			// While the request waits to be retried, the API revokes its key.
			RetryScheduled: func(transport.RetryEvent) { api.accept("rk_test_nobody_has_this_key", time.Time{}, true) },
		}))
	api.enqueue(503)
	_, resp, err := get(t, c, "things/1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Do = %v, %v; want success", resp, err)
	}
	// Attempts: 503 (first key), 401 (first key revoked), 200 (new key).
	if api.calls.Load() != 3 || m.calls.Load() != 2 || rejected.Load() != 1 || replayed.Load() != 1 {
		t.Errorf("%d requests, %d keys minted, %d rejections, %d replays; want 3, 2, 1, 1",
			api.calls.Load(), m.calls.Load(), rejected.Load(), replayed.Load())
	}
}

func TestClientTimeoutCoversRetryWaits(t *testing.T) {
	api := newFakeAPI(t, clientKey1)
	api.enqueue(503, 503)
	api.header.Set("Retry-After", "10")
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)), rekey.WithTimeout(100*time.Millisecond))
	start := time.Now()
	_, _, err := get(t, c, "things/1")
	// Returning before the 10 s Retry-After is what shows that the timeout
	// cut the wait short; 100 ms against 10 s leaves any machine its margin.
	if err == nil || time.Since(start) >= 10*time.Second {
		t.Fatalf("err = %v after %v; want a timeout before the 10s Retry-After", err, time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to match context.DeadlineExceeded", err)
	}
}
