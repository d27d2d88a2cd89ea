package redisstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// Several Stores, each with its own client, stand for the processes of a
// fleet: all see the same key rejected at once, one mints, all get its key.
func TestRefreshMintsOncePerGeneration(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{delay: 100 * time.Millisecond}
	const procs = 8
	stores := make([]*Store, procs)
	for i := range stores {
		stores[i] = newStore(t, prefix, m.refresh, WithPollInterval(20*time.Millisecond))
	}
	old := credentials.Credential{Key: newKey()}
	put(t, stores[0], old)

	for round := 1; round <= 3; round++ {
		var wg sync.WaitGroup
		got := make([]credentials.Credential, procs)
		errs := make([]error, procs)
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = s.Refresh(context.Background(), old)
			}()
		}
		testwait.Group(t, &wg, testwait.Timeout, "the processes' refreshes")
		if n := m.calls.Load(); n != int64(round) {
			t.Fatalf("round %d: refresh hook called %d times in all, want %d", round, n, round)
		}
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("round %d: store %d: %v", round, i, errs[i])
			}
			if got[i].Key != got[0].Key || got[i].Key == old.Key {
				t.Fatalf("round %d: store %d got %v, store 0 got %v, old %v", round, i, got[i], got[0], old)
			}
		}
		if cur, _ := stores[0].load(context.Background()); cur.gen != int64(round+1) || cur.cred.Key != got[0].Key {
			t.Fatalf("round %d: Redis holds generation %d %v, want %d %v", round, cur.gen, cur.cred, round+1, got[0])
		}
		if m.last.Key != old.Key {
			t.Fatalf("round %d: hook was told %v was rejected, want %v", round, m.last, old)
		}
		old = got[0]
	}
}

// A process whose rejected key is older than the one in Redis takes the
// stored key without minting.
func TestRefreshTakesNewerStoredKey(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{}
	s := newStore(t, prefix, m.refresh)
	stale := credentials.Credential{Key: newKey()}
	fresh := credentials.Credential{Key: newKey(), Expiry: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
	put(t, s, fresh)

	got, err := s.Refresh(context.Background(), stale)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != fresh.Key || !got.Expiry.Equal(fresh.Expiry) {
		t.Fatalf("got %v, want the stored %v", got, fresh)
	}
	if n := m.calls.Load(); n != 0 {
		t.Fatalf("refresh hook called %d times, want 0", n)
	}
}

// A stored key that differs from the rejected one but has expired is not a
// replacement: the Store mints.
func TestRefreshReplacesExpiredStoredKey(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{}
	s := newStore(t, prefix, m.refresh)
	expired := credentials.Credential{Key: newKey(), Expiry: time.Now().Add(-time.Minute)}
	put(t, s, expired)

	got, err := s.Refresh(context.Background(), credentials.Credential{Key: newKey()})
	if err != nil {
		t.Fatal(err)
	}
	if n := m.calls.Load(); n != 1 || got.Key == expired.Key {
		t.Fatalf("hook calls %d, got %v: want 1 call and a new key", n, got)
	}
	if m.last.Key != expired.Key {
		t.Fatalf("hook was told %v was rejected, want the stored %v", m.last, expired)
	}
}

// The lock holder reads the generation again after taking the lock: a key
// stored by the previous holder between a waiter's first read and its lock
// is taken, not replaced.
func TestMintRechecksGenerationUnderLock(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{}
	s := newStore(t, prefix, m.refresh)
	rejected := credentials.Credential{Key: newKey()}
	put(t, s, rejected)
	// This process read rejected, then lost the race: another stored next.
	next := credentials.Credential{Key: newKey()}
	put(t, s, next)

	token := newToken()
	if ok, err := s.lock(context.Background(), token); err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	got, err := s.mint(context.Background(), rejected, token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != next.Key || m.calls.Load() != 0 {
		t.Fatalf("got %v with %d hook calls, want the stored %v and none", got, m.calls.Load(), next)
	}
	if err := rdb.Get(context.Background(), prefix+":lock").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("lock still held after mint: %v", err)
	}
}

// A waiter wakes on the pub/sub announcement, long before its next poll.
func TestWaiterWakesOnAnnouncement(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{}
	s := newStore(t, prefix, m.refresh, WithPollInterval(time.Minute))
	holder := newStore(t, prefix, m.refresh)
	rejected := credentials.Credential{Key: newKey()}
	put(t, s, rejected)
	holdLock(t, rdb, prefix, time.Minute)

	ch := async(func() (credentials.Credential, error) { return s.Refresh(context.Background(), rejected) })
	waitSubscribers(t, rdb, prefix, 1)
	next := credentials.Credential{Key: newKey()}
	put(t, holder, next) // stores and announces

	r := await(t, ch, 5*time.Second)
	if r.err != nil || r.cred.Key != next.Key {
		t.Fatalf("got %v, %v; want %v", r.cred, r.err, next)
	}
	if m.calls.Load() != 0 {
		t.Fatalf("waiter minted")
	}
}

// Without an announcement (a lost message, pub/sub unavailable), a waiter
// still finds the new key by polling.
func TestWaiterPollsWithoutAnnouncement(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{}
	s := newStore(t, prefix, m.refresh, WithPollInterval(30*time.Millisecond))
	rejected := credentials.Credential{Key: newKey()}
	put(t, s, rejected)
	holdLock(t, rdb, prefix, time.Minute)

	ch := async(func() (credentials.Credential, error) { return s.Refresh(context.Background(), rejected) })
	waitSubscribers(t, rdb, prefix, 1)
	next := newKey()
	if err := rdb.HSet(context.Background(), prefix+":cred", "key", next, "gen", 2).Err(); err != nil {
		t.Fatal(err) // stored silently: no PUBLISH
	}
	r := await(t, ch, 5*time.Second)
	if r.err != nil || r.cred.Key != next {
		t.Fatalf("got %v, %v; want the silently stored key", r.cred, r.err)
	}
}

// A holder that died leaves its lock to expire: after the lease, a waiter
// takes the lock and mints.
func TestDeadHolderStallsAtMostTheLease(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{}
	const lease = 500 * time.Millisecond
	s := newStore(t, prefix, m.refresh, WithLease(lease), WithPollInterval(20*time.Millisecond))
	rejected := credentials.Credential{Key: newKey()}
	put(t, s, rejected)
	holdLock(t, rdb, prefix, lease) // and never release it

	r := await(t, async(func() (credentials.Credential, error) { return s.Refresh(context.Background(), rejected) }), 5*time.Second)
	if r.err != nil || r.cred.Key == rejected.Key || m.calls.Load() != 1 {
		t.Fatalf("got %v, %v after %d hook calls; want one new key", r.cred, r.err, m.calls.Load())
	}
	if r.took > lease+time.Second {
		t.Fatalf("recovery took %v, want at most the lease (%v) and a margin", r.took, lease)
	}
}

// A holder that neither finishes nor dies makes waiters give up after the
// maximum wait, with an error a Cache retries.
func TestWaiterGivesUpAfterMaxWait(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{}
	const maxWait = 300 * time.Millisecond
	s := newStore(t, prefix, m.refresh, WithMaxWait(maxWait), WithPollInterval(50*time.Millisecond))
	rejected := credentials.Credential{Key: newKey()}
	put(t, s, rejected)
	holdLock(t, rdb, prefix, time.Minute)

	r := await(t, async(func() (credentials.Credential, error) { return s.Refresh(context.Background(), rejected) }), 5*time.Second)
	if !errors.Is(r.err, ErrWaitTimeout) {
		t.Fatalf("err = %v, want ErrWaitTimeout", r.err)
	}
	if r.took < maxWait || r.took > maxWait+time.Second {
		t.Fatalf("gave up after %v, want about %v", r.took, maxWait)
	}
	if m.calls.Load() != 0 {
		t.Fatal("waiter minted while the lock was held")
	}
}

// Cancelling the caller's context ends the wait at once.
func TestWaiterHonoursContext(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	s := newStore(t, prefix, (&minter{}).refresh, WithPollInterval(time.Minute))
	rejected := credentials.Credential{Key: newKey()}
	put(t, s, rejected)
	holdLock(t, rdb, prefix, time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	ch := async(func() (credentials.Credential, error) { return s.Refresh(ctx, rejected) })
	waitSubscribers(t, rdb, prefix, 1)
	cancel()
	r := await(t, ch, 2*time.Second)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}

// The hook runs with a deadline inside the lease, so that a living holder
// never outlasts its lock; its errors come back as they are and free the
// lock.
func TestHookBoundedByLeaseAndErrorsReleaseLock(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	const lease = 2 * time.Second
	bad := errors.New("account secret rejected")
	var deadline time.Time
	var hasDeadline bool
	hook := func(ctx context.Context, _ credentials.Credential) (credentials.Credential, error) {
		deadline, hasDeadline = ctx.Deadline()
		return credentials.Credential{}, credentials.Permanent(bad)
	}
	s := newStore(t, prefix, hook, WithLease(lease))
	start := time.Now()
	_, err := s.Refresh(context.Background(), credentials.Credential{Key: newKey()})
	if !errors.Is(err, bad) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	if !hasDeadline || deadline.After(start.Add(lease)) {
		t.Fatalf("hook deadline %v (set %v), want before the lease ends at %v", deadline, hasDeadline, start.Add(lease))
	}
	if err := rdb.Get(context.Background(), prefix+":lock").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("lock still held after a failed refresh: %v", err)
	}
}

// A hook that returns a malformed key stores nothing.
func TestMalformedKeyNotStored(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	hook := func(context.Context, credentials.Credential) (credentials.Credential, error) {
		return credentials.Credential{Key: "Bearer rk_unit_0123456789"}, nil
	}
	s := newStore(t, prefix, hook)
	_, err := s.Refresh(context.Background(), credentials.Credential{})
	if !errors.Is(err, credentials.ErrMalformedKey) {
		t.Fatalf("err = %v, want ErrMalformedKey", err)
	}
	if cur, _ := s.load(context.Background()); cur.gen != 0 {
		t.Fatalf("stored generation %d", cur.gen)
	}
}
