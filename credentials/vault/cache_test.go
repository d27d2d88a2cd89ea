package vault_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// A rotation in the store followed by a rejection recovers with exactly one
// store read.
func TestCacheRejectionAfterRotationReadsOnce(t *testing.T) {
	f := newFakeVault(t)
	f.put(mountPath, keyData(key1))
	cache := &credentials.Cache{Provider: newProvider(t, f)}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	old, err := cache.Retrieve(ctx)
	if err != nil || old.Key != key1 {
		t.Fatalf("Retrieve = %v, %v", old, err)
	}
	f.put(mountPath, keyData(key2))
	before := f.requests.Load()
	cred, err := cache.Invalidate(ctx, old)
	if err != nil || cred.Key != key2 {
		t.Fatalf("Invalidate = %v, %v; want key2", cred, err)
	}
	if got := f.requests.Load() - before; got != 1 {
		t.Errorf("recovery made %d requests to Vault; want exactly 1", got)
	}
}

// 200 goroutines rejected at once cause one read.
func TestCacheConcurrentRejectionsReadOnce(t *testing.T) {
	f := newFakeVault(t)
	f.put(mountPath, keyData(key1))
	cache := &credentials.Cache{Provider: newProvider(t, f)}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	old, err := cache.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.put(mountPath, keyData(key2))
	// Hold Vault's answer until every goroutine has asked, so that they all
	// meet the one refresh in flight.
	f.hold = make(chan struct{})
	release := sync.OnceFunc(func() { close(f.hold) })
	t.Cleanup(release) // also when the test fails on its way: the fake's Close waits for held reads
	before := f.dataReads.Load()
	const n = 200
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			defer done.Done()
			started.Done()
			cred, err := cache.Invalidate(ctx, old)
			if err == nil && cred.Key != key2 {
				err = errors.New("got a key other than key2")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	testwait.Group(t, &started, testwait.Timeout, "the goroutines to start")
	release()
	testwait.Group(t, &done, testwait.Timeout, "the rejected goroutines")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.dataReads.Load() - before; got != 1 {
		t.Errorf("%d concurrent rejections made %d reads; want 1", n, got)
	}
}

// An unchanged version means "nothing newer" at once: one read, no retry,
// no backoff, and the Cache's cooldown keeps later callers from asking again.
func TestCacheUnchangedVersionFailsAtOnce(t *testing.T) {
	f := newFakeVault(t)
	f.put(mountPath, keyData(key1))
	var mu sync.Mutex
	var events []credentials.RefreshEvent
	cache := &credentials.Cache{
		Provider:  newProvider(t, f),
		OnRefresh: func(ev credentials.RefreshEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() },
	}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	old, err := cache.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := f.requests.Load()
	_, err = cache.Invalidate(ctx, old)
	if !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("Invalidate error = %v; want ErrSameKey", err)
	}
	if _, err2 := cache.Invalidate(ctx, old); !errors.Is(err2, credentials.ErrSameKey) {
		t.Fatalf("second Invalidate error = %v; want the cooled-down ErrSameKey", err2)
	}
	if got := f.requests.Load() - before; got != 1 {
		t.Errorf("made %d requests to Vault; want exactly 1 (no retry)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	last := events[len(events)-1]
	if last.Phase != credentials.RefreshFailed || last.Attempts != 1 {
		t.Errorf("last refresh event = %+v; want a failure after 1 attempt", last)
	}
	assertNoSecret(t, "Cache", cache)
	assertNoSecret(t, "error", err)
}
