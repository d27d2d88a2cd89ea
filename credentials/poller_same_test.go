package credentials_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// echoPoller is a Poller whose Poll reports its credential as changed every
// time: a source that cannot tell what changed (a version bump with the same
// value, say). The Cache must judge for itself.
type echoPoller struct {
	cred  atomic.Pointer[credentials.Credential]
	polls atomic.Int64 // Poll calls returned
}

func (p *echoPoller) set(c credentials.Credential) { p.cred.Store(&c) }

func (p *echoPoller) Retrieve(context.Context) (credentials.Credential, error) {
	return *p.cred.Load(), nil
}

func (p *echoPoller) PollInterval() time.Duration { return time.Millisecond }

func (p *echoPoller) Poll(context.Context, credentials.Credential) (credentials.Credential, bool, error) {
	defer p.polls.Add(1)
	return *p.cred.Load(), true, nil
}

// TestCachePollChangedButSameCredential: a poll that says "changed" for the
// key and expiry the Cache already holds swaps nothing in; the same key with
// another expiry is a change (a store that extended the key's life).
func TestCachePollChangedButSameCredential(t *testing.T) {
	expiry := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name  string
		next  credentials.Credential // what the source holds after the first Retrieve
		swaps int
	}{
		{"same key and expiry", credentials.Credential{Key: keyN(1), Expiry: expiry}, 0},
		{"same key, equal expiry in another location", credentials.Credential{Key: keyN(1), Expiry: expiry.In(time.FixedZone("UTC+2", 2*3600))}, 0},
		{"same key, later expiry", credentials.Credential{Key: keyN(1), Expiry: expiry.Add(time.Hour)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &echoPoller{}
			src.set(credentials.Credential{Key: keyN(1), Expiry: expiry})
			var log events
			c := &credentials.Cache{Provider: src, OnRefresh: log.record}
			t.Cleanup(func() { c.Close() })
			if _, err := c.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
			src.set(tc.next)
			waitFor(t, "five polls", func() bool {
				if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(1) {
					t.Fatalf("Retrieve = %v, %v; want key 1", got, err)
				}
				return src.polls.Load() >= 5
			})
			if n := log.count(credentials.RefreshSucceeded, credentials.ReasonChanged); n != tc.swaps {
				t.Errorf("%d swaps; want %d: %s", n, tc.swaps, &log)
			}
			got, err := c.Retrieve(context.Background())
			if err != nil || !got.Expiry.Equal(tc.next.Expiry) {
				t.Errorf("Retrieve = %v (expiry %v), %v; want expiry %v", got, got.Expiry, err, tc.next.Expiry)
			}
		})
	}
}
