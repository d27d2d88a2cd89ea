package credentials

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// An idle Cache holds nothing for the refreshes it ran: the list Close
// would cancel is nil again once the last one ended, however many ran.
func TestCacheIdleHoldsNoRefreshState(t *testing.T) {
	n := 0
	c := &Cache{Refresh: func(context.Context, Credential) (Credential, error) {
		n++
		return Credential{Key: fmt.Sprintf("rk_test_key_internal_%04d", n)}, nil
	}}
	t.Cleanup(func() { c.Close() })
	cur, err := c.Retrieve(context.Background())
	for i := 0; err == nil && i < 3; i++ {
		cur, err = c.Invalidate(context.Background(), cur)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	running := c.running
	c.mu.Unlock()
	if running != nil {
		t.Errorf("after 4 refreshes the idle Cache holds %d cancel functions (non-nil list); want nil", len(running))
	}
}

// refreshPoint is ExpiryWindow before expiry, moved earlier by up to a
// fifth of the window at random: spread over that fifth, never outside it.
func TestRefreshPointJitter(t *testing.T) {
	expiry := time.Now().Add(time.Hour)
	cred := Credential{Key: "k", Expiry: expiry}
	for _, tc := range []struct {
		window time.Duration
		spread bool // distinct points expected over many draws
	}{
		{time.Minute, true},
		{3 * time.Nanosecond, false}, // a fifth of it rounds to nothing
	} {
		c := &Cache{ExpiryWindow: tc.window}
		seen := map[time.Time]bool{}
		for range 100 {
			p := c.refreshPoint(cred)
			if early, late := expiry.Add(-tc.window-tc.window/5), expiry.Add(-tc.window); p.Before(early) || p.After(late) {
				t.Fatalf("window %v: refresh point %v before expiry; want between %v and %v", tc.window, expiry.Sub(p), tc.window, tc.window+tc.window/5)
			}
			seen[p] = true
		}
		if tc.spread && len(seen) < 10 {
			t.Errorf("window %v: %d distinct refresh points in 100; want them spread (jitter)", tc.window, len(seen))
		}
	}
}

// A key without expiry from a Provider that is not a Poller has no refresh
// point: Retrieve is one atomic load, with no clock read.
func TestCacheWithoutExpiryOrPollingHasNoRefreshPoint(t *testing.T) {
	for _, p := range []Provider{Static("rk_test_key_internal_0001"), FileWith("/nonexistent", FileOptions{PollInterval: -1})} {
		c := &Cache{Provider: p}
		if e := c.newEntry(Credential{Key: "rk_test_key_internal_0001"}); !e.refreshAt.IsZero() || !e.pollAt.IsZero() {
			t.Errorf("%v: refresh point %v, poll point %v; want none", p, e.refreshAt, e.pollAt)
		}
	}
}
