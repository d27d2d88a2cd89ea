package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
)

// A Cache built by hand, to share one key between several clients or to
// tune it: the provider gives the first key, the refresh hook replaces a
// rejected one. transport.Transport and rekey.Client build one like it.
func ExampleCache() {
	api := rekeytest.NewServer()
	defer api.Close()
	first := api.IssueKey()

	cache := &credentials.Cache{
		Provider: credentials.Static(first.Key),
		Refresh:  api.Refresh, // mints a key: POST /v1/keys with the account secret
	}
	defer cache.Close()

	ctx := context.Background()
	cred, _ := cache.Retrieve(ctx)
	fmt.Println("first key:", cred.Key == first.Key)

	api.Revoke(cred.Key)                     // the API now rejects it
	next, err := cache.Invalidate(ctx, cred) // so the caller reports the rejection
	fmt.Println("new key:", next.Key != cred.Key, err)

	cred, _ = cache.Retrieve(ctx)
	fmt.Println("every caller gets it:", cred.Key == next.Key)
	// Output:
	// first key: true
	// new key: true <nil>
	// every caller gets it: true
}

// Retrieve is the hot path: after the first call, one atomic load.
func ExampleCache_Retrieve() {
	var calls atomic.Int64
	cache := &credentials.Cache{Provider: credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
		calls.Add(1)
		return credentials.Credential{Key: "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, nil
	})}
	defer cache.Close()

	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cache.Retrieve(context.Background())
		}()
	}
	wg.Wait()
	cred, err := cache.Retrieve(context.Background())
	fmt.Println(cred, err)
	fmt.Println("provider calls:", calls.Load())
	// Output:
	// Credential{Key: sk_live_…p7dc} <nil>
	// provider calls: 1
}

// However many goroutines saw the same key rejected, one refresh runs and
// all get its key; a late caller with the old key gets the new one at once.
func ExampleCache_Invalidate() {
	var minted atomic.Int64
	cache := &credentials.Cache{
		Provider: credentials.Static("sk_live_revoked000000000001"),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: fmt.Sprintf("sk_live_minted%013d", minted.Add(1))}, nil
		},
	}
	defer cache.Close()
	ctx := context.Background()
	rejected, _ := cache.Retrieve(ctx)

	var wg sync.WaitGroup
	keys := make([]credentials.Credential, 50)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], _ = cache.Invalidate(ctx, rejected) // each saw a 401 with it
		}()
	}
	wg.Wait()
	late, _ := cache.Invalidate(ctx, rejected)
	fmt.Println(keys[0], keys[49], late)
	fmt.Println("refreshes:", minted.Load())
	// Output:
	// Credential{Key: sk_live_…0001} Credential{Key: sk_live_…0001} Credential{Key: sk_live_…0001}
	// refreshes: 1
}

// OnRefresh reports each refresh's start and end, for logs and metrics:
// why it ran, how many calls of the hook it took, and why it failed. A
// failure that retrying cannot cure (Permanent) stops the attempts at once.
func ExampleCache_onRefresh() {
	var calls atomic.Int64
	cache := &credentials.Cache{
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			if calls.Add(1) == 1 {
				return credentials.Credential{Key: "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, nil
			}
			return credentials.Credential{}, credentials.Permanent(errors.New("key service: account suspended"))
		},
		OnRefresh: func(ev credentials.RefreshEvent) {
			fmt.Println(ev.Phase, ev.Reason, ev.Attempts, ev.Err) // ev.ID pairs start and end
		},
	}
	defer cache.Close()
	ctx := context.Background()
	cred, _ := cache.Retrieve(ctx)
	_, err := cache.Invalidate(ctx, cred)
	fmt.Println(err)
	// Output:
	// started initial 0 <nil>
	// succeeded initial 1 <nil>
	// started rejected 0 <nil>
	// failed rejected 1 key service: account suspended
	// key service: account suspended
}

// A transient failure of the refresh hook is retried with bounded
// exponential backoff, up to RefreshAttempts calls per refresh, all within
// RefreshTimeout; callers wait for the outcome.
func ExampleCache_refreshAttempts() {
	var calls atomic.Int64
	cache := &credentials.Cache{
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			if calls.Add(1) < 3 {
				return credentials.Credential{}, errors.New("key service: 503 Service Unavailable")
			}
			return credentials.Credential{Key: "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, nil
		},
		RefreshAttempts: 5,
	}
	defer cache.Close()
	cred, err := cache.Retrieve(context.Background())
	fmt.Println(cred, err, "after", calls.Load(), "calls")
	// Output:
	// Credential{Key: sk_live_…p7dc} <nil> after 3 calls
}

// Close stops the Cache's background refreshes; the key it holds is still
// returned, but refreshing it fails.
func ExampleCache_Close() {
	cache := &credentials.Cache{Provider: credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc")}
	ctx := context.Background()
	cred, _ := cache.Retrieve(ctx)
	cache.Close()

	held, err := cache.Retrieve(ctx)
	fmt.Println(held, err)
	_, err = cache.Invalidate(ctx, cred)
	fmt.Println(errors.Is(err, credentials.ErrCacheClosed))
	// Output:
	// Credential{Key: sk_live_…p7dc} <nil>
	// true
}
