package credentials_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// reasons records the reason each call to a refresh source was given.
type reasons struct {
	mu  sync.Mutex
	got []string
}

func (r *reasons) record(ctx context.Context) {
	s := "none"
	if reason, ok := credentials.RefreshReasonFrom(ctx); ok {
		s = reason.String()
	}
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *reasons) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// Every call a Cache makes to its source says why, whichever source it is.
func TestCachePassesRefreshReason(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(t *testing.T, c *credentials.Cache)
		ttl  time.Duration
		win  time.Duration // the Cache's ExpiryWindow
		want []string
	}{{
		name: "first key, then a rejection",
		run: func(t *testing.T, c *credentials.Cache) {
			first, err := c.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Invalidate(ctx, first); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"initial", "rejected"},
	}, {
		name: "expired key replaced while Retrieve waits",
		ttl:  50 * time.Millisecond,
		win:  -1,
		run: func(t *testing.T, c *credentials.Cache) {
			first, err := c.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Until(first.Expiry) + 5*time.Millisecond)
			if _, err := c.Retrieve(ctx); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"initial", "expired"},
	}, {
		name: "key refreshed ahead of its expiry",
		ttl:  300 * time.Millisecond,
		win:  time.Hour, // capped to half the key's life
		run: func(t *testing.T, c *credentials.Cache) {
			first, err := c.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a refresh ahead of expiry", func() bool {
				got, err := c.Retrieve(ctx)
				return err == nil && got.Key != first.Key
			})
		},
		want: []string{"initial", "expiring"},
	}}
	sources := map[string]func(r *reasons, m *minter) *credentials.Cache{
		"RefreshFunc": func(r *reasons, m *minter) *credentials.Cache {
			return &credentials.Cache{Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
				r.record(ctx)
				return m.refresh(ctx, rejected)
			}}
		},
		"Provider": func(r *reasons, m *minter) *credentials.Cache {
			return &credentials.Cache{Provider: credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
				r.record(ctx)
				return m.refresh(ctx, credentials.Credential{})
			})}
		},
	}
	for _, tc := range cases {
		for source, cache := range sources {
			t.Run(tc.name+"/"+source, func(t *testing.T) {
				r, m := &reasons{}, &minter{ttl: tc.ttl}
				c := cache(r, m)
				c.ExpiryWindow = tc.win
				t.Cleanup(func() { c.Close() })
				tc.run(t, c)
				c.Close() // waits for a background refresh's call to be recorded
				if got := r.list(); !slices.Equal(got, tc.want) {
					t.Errorf("reasons seen by the source = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func TestRefreshReasonFrom(t *testing.T) {
	if r, ok := credentials.RefreshReasonFrom(context.Background()); ok {
		t.Errorf("RefreshReasonFrom(Background) = %v, true; want false", r)
	}
	ctx := credentials.WithRefreshReason(context.Background(), credentials.ReasonExpiring)
	if r, ok := credentials.RefreshReasonFrom(ctx); !ok || r != credentials.ReasonExpiring {
		t.Errorf("RefreshReasonFrom = %v, %v; want expiring, true", r, ok)
	}
	inner := credentials.WithRefreshReason(ctx, credentials.ReasonRejected)
	if r, _ := credentials.RefreshReasonFrom(inner); r != credentials.ReasonRejected {
		t.Errorf("the innermost reason wins: got %v, want rejected", r)
	}
}
