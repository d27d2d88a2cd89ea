package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// keyN returns the n-th test key; keys pass Validate.
func keyN(n int64) string { return fmt.Sprintf("rk_test_key%020d", n) }

// minter is a refresh source that mints numbered keys and counts calls.
type minter struct {
	calls atomic.Int64
	ttl   time.Duration
	gate  chan struct{} // if not nil, each call waits for a value
	fail  error
}

func (m *minter) refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	n := m.calls.Add(1)
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return credentials.Credential{}, ctx.Err()
		}
	}
	if m.fail != nil {
		return credentials.Credential{}, m.fail
	}
	c := credentials.Credential{Key: keyN(n)}
	if m.ttl > 0 {
		c.Expiry = time.Now().Add(m.ttl)
	}
	return c, nil
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCacheFirstRetrieveUsesProviderThenHoldsIt(t *testing.T) {
	var calls atomic.Int64
	c := &credentials.Cache{Provider: credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
		calls.Add(1)
		return credentials.Credential{Key: keyN(7)}, nil
	})}
	for i := 0; i < 100; i++ {
		got, err := c.Retrieve(context.Background())
		if err != nil || got.Key != keyN(7) {
			t.Fatalf("Retrieve = %v, %v", got, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("provider called %d times, want 1", calls.Load())
	}
}

func TestCacheInvalidateCoalescesAndSkipsStaleRejections(t *testing.T) {
	m := &minter{gate: make(chan struct{})}
	c := &credentials.Cache{Refresh: m.refresh}
	go func() { m.gate <- struct{}{} }()
	first, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	results := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.Invalidate(context.Background(), first)
			if err != nil {
				t.Error(err)
			}
			results <- got.Key
		}()
	}
	waitFor(t, "the refresh to start", func() bool { return m.calls.Load() >= 2 })
	testwait.Send(t, m.gate, struct{}{}, testwait.Timeout, "the refresh its result")
	testwait.Group(t, &wg, testwait.Timeout, "the rejected callers")
	close(results)
	for k := range results {
		if k != keyN(2) {
			t.Fatalf("a caller got %q, want the one refreshed key", k)
		}
	}
	// A late caller still holding the first key gets the newer one, no refresh.
	got, err := c.Invalidate(context.Background(), first)
	if err != nil || got.Key != keyN(2) {
		t.Errorf("stale Invalidate = %v, %v", got, err)
	}
	if m.calls.Load() != 2 {
		t.Errorf("refresh called %d times, want 2 (initial + one refresh)", m.calls.Load())
	}
}

func TestCacheRefreshFailureCooldown(t *testing.T) {
	boom := errors.New("key service down")
	m := &minter{fail: credentials.Permanent(boom)}
	c := &credentials.Cache{Provider: credentials.Static(keyN(1)), Refresh: m.refresh, Cooldown: time.Hour}
	cur, _ := c.Retrieve(context.Background())
	for i := 0; i < 5; i++ {
		if _, err := c.Invalidate(context.Background(), cur); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the hook's error", err)
		}
	}
	if m.calls.Load() != 1 {
		t.Errorf("refresh hook called %d times within the cooldown, want 1", m.calls.Load())
	}
	noCooldown := &credentials.Cache{Provider: credentials.Static(keyN(1)), Refresh: m.refresh, Cooldown: -1}
	cur, _ = noCooldown.Retrieve(context.Background())
	noCooldown.Invalidate(context.Background(), cur)
	noCooldown.Invalidate(context.Background(), cur)
	if m.calls.Load() != 3 {
		t.Errorf("with cooldown disabled the hook ran %d times in all, want 3", m.calls.Load())
	}
}

func TestCacheBoundedAttemptsForTransientFailures(t *testing.T) {
	m := &minter{fail: errors.New("503 from key service")}
	c := &credentials.Cache{Provider: credentials.Static(keyN(1)), Refresh: m.refresh, RefreshAttempts: 3}
	cur, _ := c.Retrieve(context.Background())
	_, err := c.Invalidate(context.Background(), cur)
	if !errors.Is(err, m.fail) || m.calls.Load() != 3 {
		t.Errorf("err = %v after %d calls; want the hook's error after 3", err, m.calls.Load())
	}
}

func TestCacheSameKeyIsARefreshFailure(t *testing.T) {
	c := &credentials.Cache{Provider: credentials.Static(keyN(1)), RefreshAttempts: 1}
	cur, _ := c.Retrieve(context.Background())
	if _, err := c.Invalidate(context.Background(), cur); !errors.Is(err, credentials.ErrSameKey) {
		t.Errorf("err = %v, want ErrSameKey", err)
	}
}

func TestCacheCallerContextEndsWaitButRefreshContinues(t *testing.T) {
	m := &minter{gate: make(chan struct{})}
	c := &credentials.Cache{Provider: credentials.Static(keyN(100)), Refresh: m.refresh}
	cur, _ := c.Retrieve(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Invalidate(ctx, cur); errc <- err }()
	waitFor(t, "the refresh to start", func() bool { return m.calls.Load() > 0 })
	cancel()
	if err := testwait.Recv(t, errc, testwait.Timeout, "the canceled Invalidate to return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	testwait.Send(t, m.gate, struct{}{}, testwait.Timeout, "the refresh its result") // it completes for everybody else
	got, err := c.Invalidate(context.Background(), cur)
	if err != nil || got.Key != keyN(1) || m.calls.Load() != 1 {
		t.Errorf("after the abandoned wait: %v, %v, %d calls; want the refreshed key, one call", got, err, m.calls.Load())
	}
}

func TestCacheRefreshesAheadOfExpiryWithoutBlocking(t *testing.T) {
	m := &minter{ttl: 400 * time.Millisecond}
	refreshed := make(chan credentials.RefreshEvent, 10)
	c := &credentials.Cache{Refresh: m.refresh, ExpiryWindow: 300 * time.Millisecond,
		OnRefresh: func(ev credentials.RefreshEvent) {
			if ev.Phase == credentials.RefreshSucceeded && ev.Reason == credentials.ReasonExpiring {
				refreshed <- ev
			}
		}}
	t.Cleanup(func() { c.Close() })
	first, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		got, err := c.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got.Expired() {
			t.Fatalf("Retrieve returned an expired key %v", got)
		}
		select {
		case <-refreshed:
			next, _ := c.Retrieve(context.Background())
			if next.Key == first.Key || !time.Now().Before(first.Expiry) {
				t.Fatalf("refresh ahead did not replace the key before it expired")
			}
			return
		case <-deadline:
			t.Fatal("no refresh ahead of expiry")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestCacheExpiredKeyBlocksForReplacement(t *testing.T) {
	m := &minter{ttl: 50 * time.Millisecond}
	c := &credentials.Cache{Refresh: m.refresh, ExpiryWindow: -1}
	first, _ := c.Retrieve(context.Background())
	time.Sleep(time.Until(first.Expiry) + 5*time.Millisecond)
	got, err := c.Retrieve(context.Background())
	if err != nil || got.Key == first.Key || got.Expired() {
		t.Errorf("after expiry Retrieve = %v, %v; want a new unexpired key", got, err)
	}
}

func TestCacheCloseStopsBackgroundRefresh(t *testing.T) {
	m := &minter{ttl: time.Hour, gate: make(chan struct{})}
	c := &credentials.Cache{Provider: credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
		return credentials.Credential{Key: keyN(999), Expiry: time.Now().Add(20 * time.Millisecond)}, nil
	}), Refresh: m.refresh, ExpiryWindow: time.Hour}
	// Within the window, Retrieve starts a background refresh that blocks on
	// gate. On a loaded machine the key may expire first, and Retrieve then
	// waits for that refresh itself: the short context lets the loop go on.
	waitFor(t, "a background refresh", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		c.Retrieve(ctx)
		return m.calls.Load() > 0
	})
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the background refresh")
	}
	if _, err := c.Invalidate(context.Background(), credentials.Credential{Key: keyN(999)}); !errors.Is(err, credentials.ErrCacheClosed) {
		t.Errorf("refresh after Close: %v, want ErrCacheClosed", err)
	}
}

// A Cache prints as its credential would (redacted), or as empty.
func TestCacheString(t *testing.T) {
	c := &credentials.Cache{Provider: credentials.Static(keyN(1))}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v"} {
		if got := fmt.Sprintf(verb, c); got != "credentials.Cache{empty}" {
			t.Errorf("%s of an empty Cache = %q; want credentials.Cache{empty}", verb, got)
		}
	}
	cred, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "credentials.Cache{" + cred.String() + "}"
	for _, verb := range []string{"%v", "%s", "%+v", "%#v"} {
		if got := fmt.Sprintf(verb, c); got != want {
			t.Errorf("%s of a filled Cache = %q; want %q", verb, got, want)
		}
	}
}

func TestCacheWithoutSources(t *testing.T) {
	var c credentials.Cache
	if _, err := c.Retrieve(context.Background()); !errors.Is(err, credentials.ErrNoCredentials) {
		t.Errorf("zero Cache: %v, want ErrNoCredentials", err)
	}
}

// BenchmarkCacheRetrieve measures the hot path under parallel load: an atomic
// load, no lock, so it scales with cores. A Poller's next poll time is folded
// into the refresh point, so it costs what an expiry does: one clock read.
func BenchmarkCacheRetrieve(b *testing.B) {
	for _, tc := range []struct {
		name string
		cred credentials.Credential
		poll time.Duration // > 0: the provider is a Poller with this interval
	}{
		{"no-expiry", credentials.Credential{Key: keyN(1)}, 0},
		{"with-expiry", credentials.Credential{Key: keyN(1), Expiry: time.Now().Add(time.Hour)}, 0},
		{"poller", credentials.Credential{Key: keyN(1)}, time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var p credentials.Provider = credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) { return tc.cred, nil })
			if tc.poll > 0 {
				p = newStore(tc.cred.Key, tc.poll)
			}
			c := &credentials.Cache{Provider: p}
			b.Cleanup(func() { c.Close() })
			ctx := context.Background()
			if _, err := c.Retrieve(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Retrieve(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// A refresh ahead of expiry that finds nothing new (a secret store nobody
// rotated) is tried again a quarter of the remaining life later, not once
// per Cooldown: a dozen calls to the source over the window, not hundreds.
func TestCacheFailedRefreshAheadBacksOff(t *testing.T) {
	const (
		life     = 800 * time.Millisecond
		cooldown = 5 * time.Millisecond
	)
	var ahead atomic.Int64
	c := &credentials.Cache{
		Provider: credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
			return credentials.Credential{Key: keyN(1), Expiry: time.Now().Add(life)}, nil
		}),
		Refresh: func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{}, credentials.Permanent(errors.New("nothing new in the store"))
		},
		Cooldown:     cooldown,
		ExpiryWindow: life, // capped at half the life: ahead from 400 ms before expiry
		OnRefresh: func(ev credentials.RefreshEvent) {
			if ev.Phase == credentials.RefreshStarted && ev.Reason == credentials.ReasonExpiring {
				ahead.Add(1)
			}
		},
	}
	defer c.Close()
	first, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(first.Expiry) {
		c.Retrieve(context.Background())
		time.Sleep(time.Millisecond)
	}
	// The window is at most 480 ms with jitter. Each failure waits a
	// quarter of what remains, so 12 tries take it down to 20 ms, where the
	// 5 ms cooldown takes over for at most 4 more: 17 in all, where one try
	// per cooldown would be about 96. Slowness can only lower the count.
	if n := ahead.Load(); n < 1 || n > 17 {
		t.Errorf("%d refreshes ahead of expiry; want between 1 and 17", n)
	}
	t.Logf("%d refreshes ahead of expiry over the window", ahead.Load())
}
