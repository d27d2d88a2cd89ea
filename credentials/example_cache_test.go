package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// After a refresh, the replay of the rejected request was rejected too:
// ReplayRejected tells the Cache, and until Cooldown has passed, a request
// sent again with that key (by the caller, or by an SDK's retry loop) fails
// at once instead of calling the refresh hook again.
func ExampleCache_ReplayRejected() {
	calls := 0
	cache := &credentials.Cache{
		Provider: credentials.Static("sk_live_revoked0000000001"),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			calls++
			return credentials.Credential{Key: fmt.Sprintf("sk_live_minted%010d", calls)}, nil
		},
		Cooldown: time.Minute,
	}
	defer cache.Close()
	ctx := context.Background()

	first, _ := cache.Retrieve(ctx)
	fresh, _ := cache.Invalidate(ctx, first) // the API rejected first: one refresh
	cache.ReplayRejected(fresh)              // the replay with fresh was rejected too

	for retry := 1; retry <= 3; retry++ { // the SDK sends it again with fresh
		_, err := cache.Invalidate(ctx, fresh)
		fmt.Println(retry, errors.Is(err, credentials.ErrRefreshedKeyRejected))
	}
	fmt.Println("refresh hook calls:", calls)
	// Output:
	// 1 true
	// 2 true
	// 3 true
	// refresh hook calls: 1
}
