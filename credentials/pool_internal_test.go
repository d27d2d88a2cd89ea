package credentials

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey/internal/testwait"
)

// An idle Pool holds nothing for the background refreshes it ran: the list
// Close would cancel is nil again once the last one ended, however many ran.
func TestPoolIdleHoldsNoRefreshState(t *testing.T) {
	var n atomic.Int64
	rotating := ProviderFunc(func(context.Context) (Credential, error) {
		return Credential{Key: fmt.Sprintf("rk_test_pool_internal_%04d", n.Add(1))}, nil
	})
	p := NewPool(rotating)
	t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	for i := range 3 {
		m, err := p.Pick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Reject(ctx, m)
		if _, err := p.Await(ctx, m); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
	testwait.Until(t, testwait.Timeout, "the Pool to forget its finished refreshes", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.running == nil
	})
}
