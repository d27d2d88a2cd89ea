package credentials_test

import (
	"context"
	"fmt"

	"github.com/rekeyhq/rekey/credentials"
)

// A refresh hook learns from its context why the Cache calls it: here it
// only says so, but an API that extends keys would extend one that is
// expiring and mint a new one for a key it rejected.
func ExampleRefreshReasonFrom() {
	n := 0
	hook := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		reason, _ := credentials.RefreshReasonFrom(ctx)
		fmt.Println("refresh hook called:", reason)
		n++
		return credentials.Credential{Key: fmt.Sprintf("sk_live_example_key_%04d", n)}, nil
	}
	cache := &credentials.Cache{Refresh: hook}
	defer cache.Close()

	ctx := context.Background()
	first, _ := cache.Retrieve(ctx)
	next, _ := cache.Invalidate(ctx, first) // the API rejected the first key
	fmt.Println(next)
	// Output:
	// refresh hook called: initial
	// refresh hook called: rejected
	// Credential{Key: sk_live_…0002}
}
