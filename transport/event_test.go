package transport_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

type ctxKey struct{}

// Every Event and RetryEvent carries the context of the request it is about,
// so that a tracer can put it on that request's span.
func TestEventsCarryTheRequestContext(t *testing.T) {
	a := newAPI(t, newKey)
	var calls atomic.Int64
	var mu sync.Mutex
	var events []transport.Event
	var retries []transport.RetryEvent
	var unavailable atomic.Bool
	unavailable.Store(true)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unavailable.CompareAndSwap(true, false) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		a.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)

	c := &http.Client{Transport: &transport.Retry{
		Base: &transport.Transport{
			Credentials: credentials.Static(oldKey),
			Refresh:     countingRefresh(newKey, &calls),
			OnEvent:     func(ev transport.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() },
		},
		Policy:  transport.RetryPolicy{MinWait: time.Millisecond, MaxWait: time.Millisecond},
		OnRetry: func(ev transport.RetryEvent) { mu.Lock(); retries = append(retries, ev); mu.Unlock() },
	}}
	ctx := context.WithValue(context.Background(), ctxKey{}, "this request")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, flaky.URL+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)

	mu.Lock()
	defer mu.Unlock()
	if len(retries) != 1 || len(events) != 2 {
		t.Fatalf("got %d retries and %d events, want 1 retry (the 503), then a rejection and a replay", len(retries), len(events))
	}
	if got := retries[0].Context; got == nil || got.Value(ctxKey{}) != "this request" {
		t.Errorf("RetryEvent.Context = %v, want the request's", got)
	}
	for i, kind := range []transport.EventKind{transport.EventKeyRejected, transport.EventReplayed} {
		ev := events[i]
		if ev.Kind != kind {
			t.Errorf("event %d is %v, want %v", i, ev.Kind, kind)
		}
		if ev.Context == nil || ev.Context.Value(ctxKey{}) != "this request" {
			t.Errorf("%v: Context = %v, want the request's", ev.Kind, ev.Context)
		}
	}
}
