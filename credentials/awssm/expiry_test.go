package awssm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
)

// A key with a known expiry is read again ahead of it, once, by the Cache's
// background refresh: whether the store now holds a new key or the same
// key with a later expiry.
func TestReadAheadOfExpiry(t *testing.T) {
	tests := []struct {
		name    string
		sameKey bool
	}{
		{name: "new key in the store"},
		{name: "same key, later expiry", sameKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			key1, key2 := newKey(), newKey()
			if tt.sameKey {
				key2 = key1
			}
			secret := func(key string, exp time.Time) string {
				return fmt.Sprintf(`{"api_key":%q,"expires_at":%q}`, key, exp.UTC().Format(time.RFC3339Nano))
			}
			f.Create("s", secret(key1, time.Now().Add(4*time.Second)))
			later := time.Now().Add(time.Hour).Truncate(time.Second)
			p, _ := newProvider(t, f, "s", awssm.WithField("api_key"), awssm.WithExpiryField("expires_at"), awssm.WithPollInterval(0))
			c := &credentials.Cache{Provider: p}
			t.Cleanup(func() { c.Close() })
			ctx := context.Background()
			if _, err := c.Retrieve(ctx); err != nil {
				t.Fatal(err)
			}
			f.Put("s", secret(key2, later))
			deadline := time.Now().Add(30 * time.Second)
			for {
				cred, err := c.Retrieve(ctx)
				if err != nil {
					t.Fatalf("Retrieve: %v", err)
				}
				if cred.Key == key2 && cred.Expiry.Equal(later) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the Cache still holds %v: no refresh ahead of expiry", cred)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if n := f.Calls("GetSecretValue"); n != 2 {
				t.Errorf("GetSecretValue calls = %d, want 2: first use, one refresh ahead of expiry", n)
			}
		})
	}
}

// The same key with a later expiry is offered once per version: if the API
// rejects it anyway, the next refresh says nothing is new.
func TestSameKeyLaterExpiryOfferedOnce(t *testing.T) {
	f := newFakeSM(t)
	key := newKey()
	f.Create("s", fmt.Sprintf(`{"api_key":%q,"expires_at":"2030-01-01T00:00:00Z"}`, key))
	p, _ := newProvider(t, f, "s", awssm.WithField("api_key"), awssm.WithExpiryField("expires_at"))
	ctx := context.Background()
	cred, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.Put("s", fmt.Sprintf(`{"api_key":%q,"expires_at":"2031-01-01T00:00:00Z"}`, key))
	got, err := p.Refresh(ctx, cred)
	if err != nil || got.Key != key || got.Expiry.Year() != 2031 {
		t.Fatalf("Refresh = %v, %v; want the same key with the later expiry", got, err)
	}
	if _, err := p.Refresh(ctx, got); err == nil {
		t.Fatal("second Refresh of the same version succeeded; want ErrSameKey")
	}
}
