package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// rejectAll runs n goroutines at once that each call Invalidate(ctx, cred)
// and returns what they got.
func rejectAll(t *testing.T, c *credentials.Cache, cred credentials.Credential, n int) ([]credentials.Credential, []error) {
	t.Helper()
	creds := make([]credentials.Credential, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			creds[i], errs[i] = c.Invalidate(context.Background(), cred)
		}()
	}
	close(start)
	testwait.Group(t, &wg, testwait.Timeout, "the rejected callers")
	return creds, errs
}

// TestCacheReplayRejectedCountsAsFailedRefresh is the refresh storm an SDK's
// retry loop used to cause: 50 goroutines see key 0 rejected at once (one
// refresh, key 1), their replays are all rejected with key 1, and then,
// within the cooldown, they send again with key 1, again and again. The
// refresh source is called once in all; every later caller gets
// ErrRefreshedKeyRejected at once.
func TestCacheReplayRejectedCountsAsFailedRefresh(t *testing.T) {
	const n = 50
	m := &minter{}
	c := &credentials.Cache{Provider: credentials.Static(keyN(0)), Refresh: m.refresh, Cooldown: time.Hour}
	first, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fresh, errs := rejectAll(t, c, first, n)
	for i := range n {
		if errs[i] != nil || fresh[i].Key != keyN(1) {
			t.Fatalf("caller %d: Invalidate = %v, %v; want key 1", i, fresh[i], errs[i])
		}
	}
	var wg sync.WaitGroup
	for i := range n { // every replay is rejected: each caller says so
		wg.Add(1)
		go func() { defer wg.Done(); c.ReplayRejected(fresh[i]) }()
	}
	testwait.Group(t, &wg, testwait.Timeout, "the ReplayRejected calls")
	for round := range 3 { // the SDK's retries, each sent with key 1
		_, errs := rejectAll(t, c, fresh[0], n)
		for i, err := range errs {
			if !errors.Is(err, credentials.ErrRefreshedKeyRejected) {
				t.Fatalf("round %d, caller %d: err = %v; want ErrRefreshedKeyRejected", round, i, err)
			}
		}
	}
	if got := m.calls.Load(); got != 1 {
		t.Errorf("refresh source called %d times; want 1 however often the rejected key is sent again", got)
	}
	if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(1) {
		t.Errorf("Retrieve = %v, %v; want the refreshed key still held", got, err)
	}
}

// TestCacheReplayRejectedLastsForCooldown: after RejectedKeyCooldown (not
// the shorter Cooldown), a rejection of the key refreshes again, once.
func TestCacheReplayRejectedLastsForCooldown(t *testing.T) {
	m := &minter{}
	const cooldown = time.Second // long enough that the check within it is not late, even on a loaded machine
	c := &credentials.Cache{Provider: credentials.Static(keyN(0)), Refresh: m.refresh, Cooldown: time.Nanosecond, RejectedKeyCooldown: cooldown}
	first, _ := c.Retrieve(context.Background())
	fresh, err := c.Invalidate(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	c.ReplayRejected(fresh)
	time.Sleep(time.Millisecond) // Cooldown has passed; RejectedKeyCooldown has not
	if _, err := c.Invalidate(context.Background(), fresh); !errors.Is(err, credentials.ErrRefreshedKeyRejected) {
		t.Fatalf("within the cooldown: err = %v; want ErrRefreshedKeyRejected", err)
	}
	time.Sleep(cooldown + 10*time.Millisecond) // at least the cooldown passes, however loaded the machine
	got, errs := rejectAll(t, c, fresh, 10)
	for i := range got {
		if errs[i] != nil || got[i].Key != keyN(2) {
			t.Fatalf("after the cooldown, caller %d: %v, %v; want key 2 from a new refresh", i, got[i], errs[i])
		}
	}
	if m.calls.Load() != 2 {
		t.Errorf("refresh source called %d times; want 2 (once per cooldown)", m.calls.Load())
	}
}

// TestCacheReplayRejectedIgnoresKeysNoLongerHeld: a late report about a
// key the Cache has already replaced changes nothing, and neither does a
// report on an empty Cache.
func TestCacheReplayRejectedIgnoresKeysNoLongerHeld(t *testing.T) {
	m := &minter{}
	c := &credentials.Cache{Provider: credentials.Static(keyN(0)), Refresh: m.refresh, Cooldown: time.Hour}
	c.ReplayRejected(credentials.Credential{Key: keyN(0)}) // nothing held yet
	first, _ := c.Retrieve(context.Background())
	second, _ := c.Invalidate(context.Background(), first)
	third, err := c.Invalidate(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	c.ReplayRejected(second) // late: third is current
	got, err := c.Invalidate(context.Background(), third)
	if err != nil || got.Key != keyN(3) || m.calls.Load() != 3 {
		t.Errorf("Invalidate(third) = %v, %v after %d calls; want key 3 from a third refresh", got, err, m.calls.Load())
	}
}

// TestCacheSameKeyIsNotRetried: a source that hands back the key just
// rejected will do so again at once, so the Cache does not spend its
// backoff retries on it: one call, one error matching ErrSameKey.
func TestCacheSameKeyIsNotRetried(t *testing.T) {
	var calls atomic.Int64
	c := &credentials.Cache{
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			calls.Add(1)
			return credentials.Credential{Key: keyN(5)}, nil
		},
	}
	cur, err := c.Retrieve(context.Background()) // the first call supplies key 5
	if err != nil {
		t.Fatal(err)
	}
	_, errs := rejectAll(t, c, cur, 20)
	for i, err := range errs {
		if !errors.Is(err, credentials.ErrSameKey) {
			t.Fatalf("caller %d: err = %v; want ErrSameKey", i, err)
		}
		if strings.Contains(err.Error(), "attempts") {
			t.Errorf("caller %d: %q says it retried", i, err)
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("refresh hook called %d times; want 2 (the first key, then one refresh with no retries)", got)
	}
}

// TestCacheReplayRejectedPrintsNoKey: the error and the Cache itself say
// what happened without the key.
func TestCacheReplayRejectedPrintsNoKey(t *testing.T) {
	m := &minter{}
	c := &credentials.Cache{Provider: credentials.Static(keyN(0)), Refresh: m.refresh, Cooldown: time.Hour}
	first, _ := c.Retrieve(context.Background())
	fresh, _ := c.Invalidate(context.Background(), first)
	c.ReplayRejected(fresh)
	_, err := c.Invalidate(context.Background(), fresh)
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", c)} {
		if strings.Contains(s, fresh.Key) || strings.Contains(s, first.Key) {
			t.Errorf("%q contains a key", s)
		}
	}
}

// A key rejected right after its refresh holds back refreshes after
// rejections only: once it expires it is replaced at once, cooldown or not.
func TestCacheReplayRejectedKeyIsStillReplacedOnExpiry(t *testing.T) {
	m := &minter{ttl: 50 * time.Millisecond}
	c := &credentials.Cache{Provider: credentials.Static(keyN(0)), Refresh: m.refresh, ExpiryWindow: -1, RejectedKeyCooldown: time.Hour}
	defer c.Close()
	first, _ := c.Retrieve(context.Background())
	fresh, err := c.Invalidate(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	c.ReplayRejected(fresh)
	if _, err := c.Invalidate(context.Background(), fresh); !errors.Is(err, credentials.ErrRefreshedKeyRejected) {
		t.Fatalf("rejection within the cooldown: err = %v; want ErrRefreshedKeyRejected", err)
	}
	time.Sleep(time.Until(fresh.Expiry) + 5*time.Millisecond)
	got, err := c.Retrieve(context.Background())
	if err != nil || got.Key == fresh.Key || got.Expired() {
		t.Fatalf("after the rejected key expired: Retrieve = %v, %v; want a new key", got, err)
	}
	if n := m.calls.Load(); n != 2 {
		t.Errorf("refresh source called %d times, want 2 (the rejection, then the expiry)", n)
	}
}
