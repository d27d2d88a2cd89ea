package otelrekey_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// otelhttpScope is the instrumentation scope of otelhttp's spans.
const otelhttpScope = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

// run is what a scripted run against rekeytest leaves behind.
type run struct {
	sdk  *sdk
	srv  *rekeytest.Server
	port string
	keys []string // every key the run used

	lastMint   time.Time // just before the last key was minted
	lastExpiry time.Time // that key's expiry

	requests  []sdktrace.ReadOnlySpan // otelhttp's client span of each request, in order
	refreshes []sdktrace.ReadOnlySpan // the refresh spans, in order
}

// Steps of the scripted run, as indexes into run.requests.
const (
	firstRequest = 0 // gets the first key (refresh reason "initial")
	// requests 1..rotations each follow a rotation: rejected, refreshed, replayed
)

// scriptedRun drives a rekey.Client, instrumented by otelrekey and wrapped
// in otelhttp, through a sequential script against rekeytest, so that every
// count is exact:
//
//  1. one request gets the first key;
//  2. rotations times, every key is revoked and one request is rejected,
//     refreshed and replayed;
//  3. one request meets a 503 and is retried once;
//  4. every key is revoked again, and the key source hands back the
//     rejected key (a rotation not propagated to where the key is stored):
//     the refresh fails at once (the same key is not asked for again) and
//     the request fails.
func scriptedRun(t *testing.T, rotations int) *run {
	t.Helper()
	return scriptedRunOn(t, rotations, newSDK(t))
}

// scriptedRunOn is scriptedRun recording to s.
func scriptedRunOn(t *testing.T, rotations int, s *sdk) *run {
	t.Helper()
	r := &run{sdk: s, srv: rekeytest.NewServer(rekeytest.WithKeyTTL(time.Hour))}
	t.Cleanup(r.srv.Close)
	u, _ := url.Parse(r.srv.URL)
	r.port = u.Port()

	var stale atomic.Bool // the key source returns the rejected key
	var mu sync.Mutex
	refresh := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		if stale.Load() {
			return rejected, nil
		}
		before := time.Now()
		c, err := r.srv.Refresh(ctx, rejected)
		if err == nil {
			mu.Lock()
			r.keys = append(r.keys, c.Key)
			r.lastMint, r.lastExpiry = before, c.Expiry
			mu.Unlock()
		}
		return c, err
	}

	tel := r.sdk.telemetry(t)
	client, err := rekey.NewClient(r.srv.URL,
		rekey.WithRefresh(refresh),
		rekey.WithHooks(tel.Hooks()),
		rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	hc := client.HTTPClient()
	hc.Transport = otelhttp.NewTransport(hc.Transport,
		otelhttp.WithTracerProvider(r.sdk.tp), otelhttp.WithMeterProvider(r.sdk.mp))

	get := func() error {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, r.srv.URL+"/v1/echo", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET answered %s", resp.Status)
		}
		return nil
	}

	if err := get(); err != nil { // 1
		t.Fatalf("first request: %v", err)
	}
	for i := 0; i < rotations; i++ { // 2
		r.srv.RotateAll()
		if err := get(); err != nil {
			t.Fatalf("request after rotation %d: %v", i+1, err)
		}
	}
	r.srv.FailNext(1, http.StatusServiceUnavailable, 0) // 3
	if err := get(); err != nil {
		t.Fatalf("request through a 503: %v", err)
	}
	stale.Store(true) // 4
	r.srv.RotateAll()
	if err := get(); !errors.Is(err, rekey.ErrRefreshFailed) || !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("request with a failing refresh: err = %v, want ErrRefreshFailed and ErrSameKey", err)
	}

	for _, s := range r.sdk.spans.Ended() {
		switch {
		case s.InstrumentationScope().Name == otelhttpScope:
			r.requests = append(r.requests, s)
		case s.Name() == otelrekey.SpanRefresh:
			r.refreshes = append(r.refreshes, s)
		default:
			t.Errorf("unexpected span %q from %s", s.Name(), s.InstrumentationScope().Name)
		}
	}
	if st := r.srv.Stats(); st.Rejections != int64(rotations)+1 || st.Faults.Burst != 1 {
		t.Fatalf("the server saw %d rejections and %d 503s, want %d and 1: the script did not run as written", st.Rejections, st.Faults.Burst, rotations+1)
	}
	return r
}
