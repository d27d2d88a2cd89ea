package credentials_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// Which failure holds back which refresh: a key rejected right after its
// refresh holds back only refreshes after a rejection (for
// RejectedKeyCooldown), and a failed refresh ahead of expiry holds back only
// refreshes ahead (until its nextAhead), never a rejection.

// aheadLife is the life of the keys in the refresh-ahead tests below. The
// Cache refreshes such a key ahead from at most half its life before expiry,
// so each test waits about a second.
const aheadLife = 2 * time.Second

// windowOpens returns when, at the latest, a Cache with an ExpiryWindow of
// at least cred's life starts refreshing cred ahead of its expiry, cred
// having been stored before stored: the window is capped at half the
// remaining life at storage (minus jitter), so it opens at
// expiry-(expiry-stored)/2 at the latest.
func windowOpens(cred credentials.Credential, stored time.Time) time.Time {
	return cred.Expiry.Add(-cred.Expiry.Sub(stored) / 2)
}

// retrieveInWindow calls c.Retrieve until one call falls wholly between
// opens and expiry, and reports whether one did. On a machine so loaded
// that expiry passes between two calls it reports false, and the caller
// starts over: no test judges the machine's speed.
func retrieveInWindow(t *testing.T, c *credentials.Cache, opens, expiry time.Time) bool {
	t.Helper()
	for {
		before := time.Now()
		if _, err := c.Retrieve(context.Background()); err != nil {
			t.Fatalf("Retrieve: %v", err)
		}
		after := time.Now()
		switch {
		case !after.Before(expiry):
			t.Logf("the key expired before a Retrieve inside its window: trying again")
			return false
		case !before.Before(opens):
			return true
		}
		time.Sleep(time.Millisecond)
	}
}

// retry runs scenario until it reports that it could judge (see
// retrieveInWindow), at most five times.
func retry(t *testing.T, scenario func(t *testing.T) bool) {
	t.Helper()
	for range 5 {
		if scenario(t) {
			return
		}
	}
	t.Fatal("in five tries, no Retrieve call fell inside the refresh-ahead window")
}

// TestCacheRejectedKeyIsStillRefreshedAhead: a key rejected right after its
// refresh (ReplayRejected) holds back refreshes after a rejection, not the
// one ahead of its expiry: inside its expiry window, Retrieve replaces it
// in the background although RejectedKeyCooldown has an hour to run.
func TestCacheRejectedKeyIsStillRefreshedAhead(t *testing.T) {
	t.Parallel()
	retry(t, func(t *testing.T) bool {
		m := &minter{ttl: aheadLife}
		var log events
		c := &credentials.Cache{Provider: credentials.Static(keyN(0)), Refresh: m.refresh,
			ExpiryWindow: time.Hour, RejectedKeyCooldown: time.Hour, OnRefresh: log.record}
		defer c.Close()
		first, err := c.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := c.Invalidate(context.Background(), first)
		stored := time.Now()
		if err != nil || fresh.Key != keyN(1) {
			t.Fatalf("Invalidate = %v, %v; want key 1", fresh, err)
		}
		c.ReplayRejected(fresh)
		if _, err := c.Invalidate(context.Background(), fresh); !errors.Is(err, credentials.ErrRefreshedKeyRejected) {
			t.Fatalf("a rejection within RejectedKeyCooldown: err = %v; want ErrRefreshedKeyRejected", err)
		}
		if !retrieveInWindow(t, c, windowOpens(fresh, stored), fresh.Expiry) {
			return false
		}
		waitFor(t, "a refresh ahead of the rejected key's expiry", func() bool {
			return log.count(credentials.RefreshSucceeded, credentials.ReasonExpiring) == 1
		})
		if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(2) {
			t.Errorf("Retrieve after the refresh ahead = %v, %v; want key 2", got, err)
		}
		if n := m.calls.Load(); n != 2 {
			t.Errorf("refresh source called %d times; want 2 (the rejection, then ahead of expiry)", n)
		}
		return true
	})
}

// TestCacheFailedRefreshAheadDoesNotHoldBackRejection: a refresh ahead of
// expiry that failed waits a quarter of the key's remaining life before the
// next one ahead, but a rejection of the key refreshes at once (Cooldown
// permitting: it is off here).
func TestCacheFailedRefreshAheadDoesNotHoldBackRejection(t *testing.T) {
	t.Parallel()
	retry(t, func(t *testing.T) bool {
		var calls atomic.Int64
		var log events
		c := &credentials.Cache{
			Provider: credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
				return credentials.Credential{Key: keyN(1), Expiry: time.Now().Add(aheadLife)}, nil
			}),
			Refresh: func(ctx context.Context, _ credentials.Credential) (credentials.Credential, error) {
				if calls.Add(1) == 1 {
					return credentials.Credential{}, credentials.Permanent(errors.New("nothing new in the store yet"))
				}
				return credentials.Credential{Key: keyN(2), Expiry: time.Now().Add(time.Hour)}, nil
			},
			Cooldown:     -1,
			ExpiryWindow: time.Hour,
			OnRefresh:    log.record,
		}
		defer c.Close()
		first, err := c.Retrieve(context.Background())
		stored := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		if !retrieveInWindow(t, c, windowOpens(first, stored), first.Expiry) {
			return false
		}
		waitFor(t, "the refresh ahead to fail", func() bool {
			return log.count(credentials.RefreshFailed, credentials.ReasonExpiring) == 1
		})
		got, err := c.Invalidate(context.Background(), first)
		if err != nil || got.Key != keyN(2) {
			t.Fatalf("Invalidate after a failed refresh ahead = %v, %v; want key 2 from a new refresh", got, err)
		}
		if n := log.count(credentials.RefreshSucceeded, credentials.ReasonRejected); n != 1 {
			t.Errorf("%d refreshes after the rejection; want 1: %s", n, &log)
		}
		return true
	})
}

// TestCacheNegativeRejectedKeyCooldownMeansCooldown: RejectedKeyCooldown < 0
// holds a key rejected right after its refresh back for Cooldown, neither
// for DefaultRejectedKeyCooldown nor not at all.
func TestCacheNegativeRejectedKeyCooldownMeansCooldown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cooldown time.Duration
		held     bool
	}{
		{"Cooldown an hour: held back", time.Hour, true},
		{"Cooldown off: refreshed at once", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &minter{}
			c := &credentials.Cache{Provider: credentials.Static(keyN(0)), Refresh: m.refresh,
				Cooldown: tc.cooldown, RejectedKeyCooldown: -1}
			first, err := c.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := c.Invalidate(context.Background(), first)
			if err != nil {
				t.Fatal(err)
			}
			c.ReplayRejected(fresh)
			got, err := c.Invalidate(context.Background(), fresh)
			switch {
			case tc.held && (!errors.Is(err, credentials.ErrRefreshedKeyRejected) || m.calls.Load() != 1):
				t.Errorf("Invalidate = %v, %v after %d calls; want ErrRefreshedKeyRejected and no new call", got, err, m.calls.Load())
			case !tc.held && (err != nil || got.Key != keyN(2) || m.calls.Load() != 2):
				t.Errorf("Invalidate = %v, %v after %d calls; want key 2 from a second call", got, err, m.calls.Load())
			}
		})
	}
}
