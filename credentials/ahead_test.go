package credentials_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// When the Cache refreshes a key ahead of its expiry: from ExpiryWindow
// before it (DefaultExpiryWindow when zero), capped at half the key's life,
// and, after a failed try, a quarter of the remaining life later. Each test
// judges only the Retrieve calls whose timing it knows (see
// retrieveInWindow), and starts over when the machine stalled.

// TestCacheDefaultExpiryWindowRefreshesAhead: a zero ExpiryWindow means
// DefaultExpiryWindow (a minute, capped here at half the key's life), not
// "no refresh ahead".
func TestCacheDefaultExpiryWindowRefreshesAhead(t *testing.T) {
	t.Parallel()
	retry(t, func(t *testing.T) bool {
		m := &minter{ttl: aheadLife}
		var log events
		c := &credentials.Cache{Refresh: m.refresh, OnRefresh: log.record}
		defer c.Close()
		before := time.Now()
		first, err := c.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !retrieveInWindow(t, c, windowOpens(first, before), first.Expiry) {
			return false
		}
		waitFor(t, "a refresh ahead of expiry", func() bool {
			return log.count(credentials.RefreshSucceeded, credentials.ReasonExpiring) == 1
		})
		return true
	})
}

// TestCacheExpiryWindowIsCappedAtHalfTheLife: a window of three quarters of
// the key's life is cut to half of it (plus up to a fifth of that as
// jitter), so no refresh starts in the first 40% of the key's life, and
// certainly not at a quarter of it, where the uncut window would start one.
func TestCacheExpiryWindowIsCappedAtHalfTheLife(t *testing.T) {
	t.Parallel()
	retry(t, func(t *testing.T) bool {
		m := &minter{ttl: aheadLife}
		var log events
		c := &credentials.Cache{Refresh: m.refresh, ExpiryWindow: aheadLife * 3 / 4, OnRefresh: log.record}
		defer c.Close()
		before := time.Now()
		first, err := c.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The capped window opens at expiry-0.6*(life at storage) at the
		// earliest, so not before quiet; the uncut one by uncut.
		quiet := before.Add(first.Expiry.Sub(before) * 2 / 5)
		uncut := first.Expiry.Add(-aheadLife * 3 / 4)
		for {
			if _, err := c.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(uncut.Add(20 * time.Millisecond)) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !time.Now().Before(quiet) {
			t.Logf("the machine stalled past the point where the window may open: trying again")
			return false
		}
		if n := log.count(credentials.RefreshStarted, credentials.ReasonExpiring); n != 0 {
			t.Fatalf("%d refreshes ahead started within %v of a %v life; want none before 40%% of it", n, time.Since(before), aheadLife)
		}
		return true
	})
}

// TestCacheFailedRefreshAheadIsRetriedBeforeExpiry: after a failed refresh
// ahead, the next try comes a quarter of the remaining life later, so a
// store that gets its new key late in the window still replaces the key
// before it expires, without a blocking refresh.
func TestCacheFailedRefreshAheadIsRetriedBeforeExpiry(t *testing.T) {
	t.Parallel()
	retry(t, func(t *testing.T) bool {
		var calls atomic.Int64
		var log events
		failed := make(chan time.Time, 1)
		c := &credentials.Cache{
			Refresh: func(ctx context.Context, _ credentials.Credential) (credentials.Credential, error) {
				switch calls.Add(1) {
				case 1:
					return credentials.Credential{Key: keyN(1), Expiry: time.Now().Add(aheadLife)}, nil
				case 2:
					return credentials.Credential{}, credentials.Permanent(errors.New("nothing new in the store yet"))
				}
				return credentials.Credential{Key: keyN(2), Expiry: time.Now().Add(time.Hour)}, nil
			},
			Cooldown:     -1, // only the quarter-life backoff holds the next try back
			ExpiryWindow: time.Hour,
			OnRefresh: func(ev credentials.RefreshEvent) {
				log.record(ev)
				if ev.Phase == credentials.RefreshFailed {
					select {
					case failed <- time.Now():
					default:
					}
				}
			},
		}
		defer c.Close()
		before := time.Now()
		first, err := c.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !retrieveInWindow(t, c, windowOpens(first, before), first.Expiry) {
			return false
		}
		at := testwait.Recv(t, failed, testwait.Timeout, "the first refresh ahead to fail")
		// The failure was recorded before at: the next try is due by then.
		due := at.Add(first.Expiry.Sub(at) / 4)
		if !retrieveInWindow(t, c, due, first.Expiry) {
			return false
		}
		waitFor(t, "a second refresh ahead of expiry", func() bool {
			return log.count(credentials.RefreshSucceeded, credentials.ReasonExpiring) == 1
		})
		if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(2) {
			t.Errorf("Retrieve = %v, %v; want key 2", got, err)
		}
		return true
	})
}
