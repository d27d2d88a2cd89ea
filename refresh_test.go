package rekey_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// refreshLog records refresh events by phase and reason.
type refreshLog struct {
	mu     sync.Mutex
	events []credentials.RefreshEvent
	start  chan credentials.RefreshReason // if not nil, gets each start's reason
}

// record adds ev; it is a credentials.Cache.OnRefresh.
func (l *refreshLog) record(ev credentials.RefreshEvent) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	if ev.Phase == credentials.RefreshStarted && l.start != nil {
		select {
		case l.start <- ev.Reason:
		default:
		}
	}
}

// sendUntilRefreshAhead sends requests until one of them starts a refresh
// ahead of expiry, and fails the test if none has within testwait.Timeout.
func sendUntilRefreshAhead(t *testing.T, c *rekey.Client, log *refreshLog) {
	t.Helper()
	deadline := time.Now().Add(testwait.Timeout)
	for r := credentials.ReasonInitial; r != credentials.ReasonExpiring; {
		if time.Now().After(deadline) {
			t.Fatalf("no refresh ahead of expiry started within %v: %s", testwait.Timeout, log)
		}
		if _, _, err := get(t, c, "things/1"); err != nil {
			t.Fatal(err)
		}
		select {
		case r = <-log.start:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *refreshLog) hooks() rekey.Hooks {
	return rekey.Hooks{RefreshStarted: l.record, RefreshSucceeded: l.record, RefreshFailed: l.record}
}

func (l *refreshLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// String lists the events as phase/reason.
func (l *refreshLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.events {
		fmt.Fprintf(&b, "%s/%s; ", ev.Phase, ev.Reason)
	}
	return b.String()
}

func (l *refreshLog) count(phase credentials.RefreshPhase, reason credentials.RefreshReason) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if ev.Phase == phase && ev.Reason == reason {
			n++
		}
	}
	return n
}

func TestProactiveRefreshBeforeExpiryWithZeroRejections(t *testing.T) {
	api := newFakeAPI(t)
	// The keys live long against this machine's round trip, measured now:
	// a refresh ahead starts half a lifetime before expiry, and a request
	// with the old key is rejected only if it is still on its way at expiry.
	ttl := max(time.Second, 40*slowestRoundTrip(t, api))
	m := &minter{api: api, ttl: ttl}
	var log refreshLog
	c := newTestClient(t, api, rekey.WithRefresh(m.refresh), rekey.WithExpiryWindow(ttl/2), rekey.WithHooks(log.hooks()))

	// Until two keys have been refreshed ahead of expiry, however long that
	// takes; the deadline only stops a run in which it never happens.
	//
	// The Cache refreshes ahead from Retrieve (no timer), at least half a
	// lifetime before expiry. Only a stall of the whole process longer than
	// a quarter of that (seen here as a gap between two requests) can let a
	// key expire or reach the API expired; each such gap is counted, and is
	// the only excuse for an expired key or a rejection.
	giveUp := time.Now().Add(20 * ttl)
	requests, stalls := 0, 0
	last := time.Now()
	for log.count(credentials.RefreshSucceeded, credentials.ReasonExpiring) < 2 {
		if time.Now().After(giveUp) {
			t.Fatalf("no second refresh ahead of expiry after %d requests over %v with %v keys", requests, 20*ttl, ttl)
		}
		if _, _, err := get(t, c, "things/1"); err != nil {
			t.Fatalf("request %d: %v", requests+1, err)
		}
		requests++
		time.Sleep(ttl / 200)
		now := time.Now()
		if now.Sub(last) >= ttl/8 {
			stalls++
		}
		last = now
	}
	expired := log.count(credentials.RefreshStarted, credentials.ReasonExpired)
	rejected := int(api.rejected.Load())
	if stalls > 0 && expired+rejected > 0 {
		t.Logf("the machine stalled %d times for %v or more: %d expired keys and %d rejections not judged", stalls, ttl/8, expired, rejected)
	} else {
		if rejected != 0 {
			t.Errorf("the API rejected %d of %d requests; a key refreshed ahead of expiry is never rejected", rejected, requests)
		}
		if expired != 0 {
			t.Errorf("%d refreshes for reason %v, want none", expired, credentials.ReasonExpired)
		}
	}
	if n := log.count(credentials.RefreshStarted, credentials.ReasonRejected); n != rejected {
		t.Errorf("%d refreshes after a rejection for %d rejections", n, rejected)
	}
}

// slowestRoundTrip measures the slowest of a few requests to api through a
// Client, for tests whose timing must be relative to this machine's speed.
func slowestRoundTrip(t *testing.T, api *fakeAPI) time.Duration {
	t.Helper()
	const key = "rk_test_roundtrip_probe_0001"
	api.accept(key, time.Time{}, false)
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(key)))
	var slowest time.Duration
	for range 20 {
		start := time.Now()
		if _, _, err := get(t, c, "things/1"); err != nil {
			t.Fatalf("probe request: %v", err)
		}
		slowest = max(slowest, time.Since(start))
	}
	return slowest
}

func TestRequestsKeepTheOldKeyWhileRefreshingAhead(t *testing.T) {
	api := newFakeAPI(t)
	m := &minter{api: api, ttl: 2 * time.Second, gate: make(chan struct{})}
	log := refreshLog{start: make(chan credentials.RefreshReason, 8)}
	c := newTestClient(t, api, rekey.WithRefresh(m.refresh), rekey.WithExpiryWindow(1500*time.Millisecond), rekey.WithHooks(log.hooks()))

	if _, _, err := get(t, c, "things/1"); err != nil { // mints the first key
		t.Fatal(err)
	}
	if r := testwait.Recv(t, log.start, testwait.Timeout, "the first refresh"); r != credentials.ReasonInitial {
		t.Fatalf("first refresh reason %v", r)
	}
	// Within the window: a request starts the background refresh, which
	// blocks on the gate; requests meanwhile go out with the first key.
	sendUntilRefreshAhead(t, c, &log)
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		req, _ := c.NewRequest(ctx, "GET", "things/1", nil)
		_, err := c.Do(req, nil)
		cancel()
		if err != nil {
			t.Fatalf("a request during the background refresh: %v", err)
		}
	}
	testwait.Send(t, m.gate, struct{}{}, testwait.Timeout, "the refresh ahead its result")
	testwait.Until(t, testwait.Timeout, "the refresh ahead to succeed", func() bool {
		return log.count(credentials.RefreshSucceeded, credentials.ReasonExpiring) > 0
	})
	if _, _, err := get(t, c, "things/1"); err != nil {
		t.Fatal(err)
	}
	reqs, _ := api.received()
	keys := map[string]bool{}
	for _, r := range reqs {
		keys[r.Header.Get("Authorization")] = true
	}
	if len(keys) != 2 || api.rejected.Load() != 0 {
		t.Errorf("requests used %d keys with %d rejections, want 2 keys and none", len(keys), api.rejected.Load())
	}
}

// rekeyGoroutines returns the stacks of goroutines running rekey's code.
func rekeyGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "rekeyhq/rekey/credentials.") || strings.Contains(g, "rekeyhq/rekey/transport.") ||
			strings.Contains(g, "rekeyhq/rekey.(") || strings.Contains(g, "rekey_test.(*minter)") {
			found = append(found, g)
		}
	}
	return found
}

// waitForGoroutines polls until at most baseline goroutines run and none
// runs rekey's code, or fails after a deadline with the stacks.
func waitForGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := rekeyGoroutines()
		n := runtime.NumGoroutine()
		if len(left) == 0 && n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines (baseline %d) after Close; rekey's:\n%s", n, baseline, strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseStopsBackgroundRefreshWithoutLeaks(t *testing.T) {
	api := newFakeAPI(t)
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	m := &minter{api: api, ttl: time.Second, gate: make(chan struct{})} // the background refresh never finishes by itself
	log := refreshLog{start: make(chan credentials.RefreshReason, 8)}
	c, err := rekey.NewClient(api.URL+"/v1", rekey.WithRefresh(m.refresh), rekey.WithExpiryWindow(800*time.Millisecond), rekey.WithHooks(log.hooks()))
	if err != nil {
		t.Fatal(err)
	}
	sendUntilRefreshAhead(t, c, &log)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not return while a refresh was under way")
	}
	c.Close()                    // idempotent
	api.CloseClientConnections() // the pool is shared, and outlives the Client
	waitForGoroutines(t, baseline)
	if n := log.count(credentials.RefreshFailed, credentials.ReasonExpiring); n != 1 {
		t.Errorf("%d failed background refreshes reported, want 1 (stopped by Close)", n)
	}
}

func TestClientWithoutExpiryStartsNoGoroutines(t *testing.T) {
	api := newFakeAPI(t, clientKey1)
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	baseline := runtime.NumGoroutine()
	c, err := rekey.NewClient(api.URL+"/v1", rekey.WithCredentials(credentials.Static(clientKey1)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, _, err := get(t, c, "things/1"); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	api.CloseClientConnections()
	waitForGoroutines(t, baseline)
}

// TestCacheCloseWaitsForTheRefreshItStops specifies credentials.Cache.Close
// ("stops background refreshes and waits for them to return"): when Close
// returns, the refresh it cancelled has finished, OnRefresh included, and no
// goroutine of the Cache runs. (It once failed: the background goroutine's
// wait returned on the Cache's own cancellation while the singleflight
// goroutine running the refresh was still in the hook.)
func TestCacheCloseWaitsForTheRefreshItStops(t *testing.T) {
	started := make(chan struct{})
	var notified atomic.Bool
	c := &credentials.Cache{
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			if rejected.Key == "" {
				return credentials.Credential{Key: clientKey1, Expiry: time.Now().Add(time.Second)}, nil
			}
			close(started)
			<-ctx.Done() // honours cancellation
			return credentials.Credential{}, ctx.Err()
		},
		ExpiryWindow:    2 * time.Hour, // every Retrieve is within the window
		RefreshAttempts: 1,
		OnRefresh: func(ev credentials.RefreshEvent) {
			if ev.Phase == credentials.RefreshFailed {
				time.Sleep(50 * time.Millisecond) // a slow metrics call
				notified.Store(true)
			}
		},
	}
	c.Retrieve(context.Background()) // first key
	time.Sleep(600 * time.Millisecond)
	c.Retrieve(context.Background()) // starts the background refresh
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("no background refresh")
	}
	c.Close()
	if !notified.Load() {
		t.Error("Close returned before the refresh it stopped had finished (OnRefresh still to come)")
	}
}
