package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// extender is the refresh hook of an API that extends keys: it returns the
// key it is given with a later expiry, and records why it was called.
type extender struct {
	ttl   time.Duration
	calls atomic.Int64
	mu    sync.Mutex
	why   []string
}

func (e *extender) refresh(ctx context.Context, old credentials.Credential) (credentials.Credential, error) {
	e.calls.Add(1)
	reason, ok := credentials.RefreshReasonFrom(ctx)
	why := "none"
	if ok {
		why = reason.String()
	}
	e.mu.Lock()
	e.why = append(e.why, why)
	e.mu.Unlock()
	key := old.Key
	if key == "" || !ok || reason == credentials.ReasonRejected {
		key = newKey() // a rejected key cannot be extended: mint one
	}
	return credentials.Credential{Key: key, Expiry: time.Now().Add(e.ttl)}, nil
}

// Processes that reach a key's expiry together extend it once: the first
// calls the hook and stores the new expiry, the others take it from Redis.
func TestRefreshExtendsOncePerExpiry(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	e := &extender{ttl: time.Hour}
	const procs = 8
	stores := make([]*Store, procs)
	for i := range stores {
		stores[i] = newStore(t, prefix, e.refresh, WithPollInterval(20*time.Millisecond))
	}
	cur := credentials.Credential{Key: newKey(), Expiry: time.Now().Add(30 * time.Second).Truncate(time.Millisecond)}
	put(t, stores[0], cur)

	for round, reason := range []credentials.RefreshReason{credentials.ReasonExpiring, credentials.ReasonExpired, credentials.ReasonExpiring} {
		ctx := credentials.WithRefreshReason(context.Background(), reason)
		var wg sync.WaitGroup
		got := make([]credentials.Credential, procs)
		errs := make([]error, procs)
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = s.Refresh(ctx, cur)
			}()
		}
		testwait.Group(t, &wg, testwait.Timeout, "the processes' refreshes")
		if n := e.calls.Load(); n != int64(round+1) {
			t.Fatalf("round %d (%v): hook called %d times in all, want %d", round+1, reason, n, round+1)
		}
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("round %d: store %d: %v", round+1, i, errs[i])
			}
			if got[i].Key != cur.Key || !got[i].Expiry.After(cur.Expiry) {
				t.Fatalf("round %d: store %d got %v, want %v extended", round+1, i, got[i], cur)
			}
		}
		stored, err := stores[0].load(context.Background())
		if err != nil || stored.cred.Key != cur.Key || !stored.cred.Expiry.After(cur.Expiry) {
			t.Fatalf("round %d: Redis holds %v (%v), want the key extended", round+1, stored.cred, err)
		}
		cur = stored.cred
	}
	if e.why[0] != "expiring" || e.why[1] != "expired" {
		t.Errorf("the hook was told %q, want the reasons of the refreshes", e.why)
	}
}

// After a rejection, the same key with a later expiry is no replacement:
// the API refused that key, so the hook is called (and here mints).
func TestRefreshAfterRejectionIgnoresExtension(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	e := &extender{ttl: time.Hour}
	s := newStore(t, prefix, e.refresh)
	rejected := credentials.Credential{Key: newKey(), Expiry: time.Now().Add(time.Minute).Truncate(time.Millisecond)}
	put(t, s, credentials.Credential{Key: rejected.Key, Expiry: rejected.Expiry.Add(time.Hour)})

	for _, ctx := range []context.Context{
		credentials.WithRefreshReason(context.Background(), credentials.ReasonRejected),
		context.Background(), // no reason: a rejection, as for any Refresher
	} {
		before := e.calls.Load()
		got, err := s.Refresh(ctx, rejected)
		if err != nil || got.Key == rejected.Key || e.calls.Load() != before+1 {
			t.Fatalf("Refresh = %v, %v after %d hook calls; want a new key from one call", got, err, e.calls.Load()-before)
		}
		rejected = got
		put(t, s, credentials.Credential{Key: got.Key, Expiry: got.Expiry.Add(time.Hour)})
	}
}

// Retrieve of an expired stored key refreshes it as an expiry, so an
// extending hook extends rather than mints.
func TestRetrieveExpiredStoredKeyIsAnExpiryRefresh(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	e := &extender{ttl: time.Hour}
	s := newStore(t, prefix, e.refresh)
	expired := credentials.Credential{Key: newKey(), Expiry: time.Now().Add(-time.Second)}
	put(t, s, expired)
	got, err := s.Retrieve(credentials.WithRefreshReason(context.Background(), credentials.ReasonInitial))
	if err != nil || got.Key != expired.Key || got.Expired() {
		t.Fatalf("Retrieve = %v, %v; want the stored key extended", got, err)
	}
	if len(e.why) != 1 || e.why[0] != "expired" {
		t.Fatalf("hook told %q, want one call for an expired key", e.why)
	}
}
