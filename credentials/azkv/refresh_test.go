package azkv_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/cenkalti/backoff/v4"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// An operator sets a new version, then the old key is revoked: the first
// request with the old key is rejected, and the refresh reads the vault
// exactly once. Requests before never read it.
func TestRotationThenRejectionReadsOnce(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeKV(t)
	key1 := srv.IssueKey().Key
	f.Set("billing-api", key1)
	p := newProvider(t, f, "billing-api", azkv.WithPollInterval(0))
	logs := &logBuffer{}
	c := apiClient(t, srv, p, rekey.WithLogger(logs.logger()))
	ctx := context.Background()

	for i := 0; i < 100; i++ {
		if err := get(ctx, c); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := f.Reads("billing-api"); n != 1 {
		t.Fatalf("100 requests made %d reads of the vault, want 1 (on first use only)", n)
	}

	key2 := srv.IssueKey().Key
	v2 := setSecret(t, f.client(t, newCredential()), "billing-api", key2) // az keyvault secret set
	srv.Revoke(key1)
	for i := 0; i < 100; i++ {
		if err := get(ctx, c); err != nil {
			t.Fatalf("request %d after the rotation: %v", i, err)
		}
	}
	if n := f.Reads("billing-api"); n != 2 {
		t.Errorf("vault reads = %d, want 2: one on first use, exactly one for the rejection", n)
	}
	if n := f.ReadsOf(v2); n != 1 {
		t.Errorf("the new version was read %d times, want 1", n)
	}
	if st := srv.Stats(); st.Rejections != 1 {
		t.Errorf("the API rejected %d requests, want 1 (the first with the revoked key)", st.Rejections)
	}
	assertNoSecret(t, []string{key1, key2}, p, c, logs.String())
}

// 200 goroutines rejected at once: one read of the vault for all of them.
func TestConcurrentRejectionsReadOnce(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeKV(t)
	key1 := srv.IssueKey().Key
	f.Set("billing-api", key1)
	p := newProvider(t, f, "billing-api", azkv.WithPollInterval(0))
	c := apiClient(t, srv, p)
	ctx := context.Background()
	if err := get(ctx, c); err != nil {
		t.Fatal(err)
	}

	f.Set("billing-api", srv.IssueKey().Key)
	srv.Revoke(key1)
	const n = 200
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- get(ctx, c)
		}()
	}
	close(start)
	testwait.Group(t, &wg, testwait.Timeout, "the requests")
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("request failed: %v", err)
		}
	}
	if got := f.Reads("billing-api"); got != 2 {
		t.Errorf("vault reads = %d, want 2: one on first use, one for all %d rejected goroutines", got, n)
	}
	if st := srv.Stats(); st.Rejections == 0 {
		t.Errorf("no request was rejected: the test did not exercise a refresh")
	} else {
		t.Logf("%d goroutines: %d rejections at the API, %d vault reads", n, st.Rejections, f.Reads("billing-api"))
	}
}

// The API revokes the key but nobody set a new version: the request fails
// at once with an error matching ErrSameKey that says what to do, after
// one read of the vault.
func TestUnchangedVersionFailsAtOnce(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeKV(t)
	key1 := srv.IssueKey().Key
	f.Set("billing-api", key1)
	p := newProvider(t, f, "billing-api", azkv.WithPollInterval(0))
	logs := &logBuffer{}
	c := apiClient(t, srv, p, rekey.WithLogger(logs.logger()))
	ctx := context.Background()
	if err := get(ctx, c); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(key1)
	err := get(ctx, c)
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("error = %v; want ErrInvalidAPIKey and ErrSameKey", err)
	}
	for _, w := range []string{"the current version did not change", "az keyvault secret set", "--name billing-api"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q: %v", w, err)
		}
	}
	if n := f.Reads("billing-api"); n != 2 {
		t.Errorf("vault reads = %d, want 2: first use, then one (no retry, no backoff)", n)
	}
	assertNoSecret(t, []string{key1}, err, logs.String(), c)
}

// Refresh on its own, case by case: what the vault holds decides the
// answer, and "nothing new" is a permanent ErrSameKey after one read.
func TestRefresh(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(v1 string) []azkv.Option
		change  func(f *fakeKV, old, fresh string)
		wantNew bool
		want    string
	}{
		{name: "new version", change: func(f *fakeKV, _, fresh string) { f.Set("s", fresh) }, wantNew: true},
		{name: "version unchanged", change: func(*fakeKV, string, string) {}, want: "the current version did not change"},
		{name: "new version, same key", change: func(f *fakeKV, old, _ string) { f.Set("s", old) }, want: "holds the key being replaced again"},
		{name: "pinned version", opts: func(v1 string) []azkv.Option { return []azkv.Option{azkv.WithVersion(v1)} },
			change: func(f *fakeKV, _, fresh string) { f.Set("s", fresh) }, want: "pin the version that holds the new key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(t)
			old, fresh := newKey(), newKey()
			v1 := f.Set("s", old)
			var opts []azkv.Option
			if tt.opts != nil {
				opts = tt.opts(v1)
			}
			p := newProvider(t, f, "s", opts...)
			ctx := context.Background()
			cred, err := p.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(f, old, fresh)
			got, err := p.Refresh(ctx, cred)
			if reads := f.Reads("s"); reads != 2 {
				t.Errorf("vault reads = %d, want 2 (Retrieve, then Refresh once)", reads)
			}
			if tt.wantNew {
				if err != nil || got.Key != fresh {
					t.Fatalf("Refresh = %v, %v; want the new key", got, err)
				}
				return
			}
			if !errors.Is(err, credentials.ErrSameKey) {
				t.Fatalf("Refresh = %v, %v; want an error matching credentials.ErrSameKey", got, err)
			}
			var perm *backoff.PermanentError
			if !errors.As(err, &perm) {
				t.Errorf("the error is not marked credentials.Permanent: a Cache would retry it: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `azkv: Refresh secret "s" version `) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			assertNoSecret(t, []string{old, fresh}, err, got)
		})
	}
}

// The key's expiry is the version's exp: the Cache reads the vault again
// ahead of it, once, and takes a new version, or the same key whose exp
// an operator extended (az keyvault secret set-attributes --expires).
func TestReadAheadOfExpiry(t *testing.T) {
	for _, sameKey := range []bool{false, true} {
		name := map[bool]string{false: "new version", true: "same version, exp extended"}[sameKey]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeKV(t)
			key1, key2 := newKey(), newKey()
			soon := time.Now().Add(4 * time.Second) // a short life: the Cache refreshes halfway through it
			later := time.Now().Add(time.Hour).Truncate(time.Second)
			v1 := f.Set("s", key1, func(v *kvVersion) { v.exp = soon })
			p := newProvider(t, f, "s", azkv.WithPollInterval(0))
			c := &credentials.Cache{Provider: p}
			t.Cleanup(func() { c.Close() })
			ctx := context.Background()
			if _, err := c.Retrieve(ctx); err != nil {
				t.Fatal(err)
			}
			op := f.client(t, newCredential())
			if sameKey {
				key2 = key1
				if _, err := op.UpdateSecretProperties(ctx, "s", v1, azsecrets.UpdateSecretPropertiesParameters{
					SecretAttributes: &azsecrets.SecretAttributes{Expires: &later},
				}, nil); err != nil {
					t.Fatalf("UpdateSecretProperties: %v", err)
				}
			} else {
				exp := later.Unix()
				f.Set("s", key2, func(v *kvVersion) { v.exp = time.Unix(exp, 0) })
			}
			waitFor(t, "the refresh ahead of expiry", func() bool {
				cred, err := c.Retrieve(ctx)
				if err != nil {
					t.Fatalf("Retrieve: %v", err)
				}
				return cred.Key == key2 && cred.Expiry.Equal(later)
			})
			if n := f.Reads("s"); n != 2 {
				t.Errorf("vault reads = %d, want 2: first use, one refresh ahead of expiry", n)
			}
		})
	}
}

// A rejected key whose version only got a later exp is not offered again:
// the API has refused it.
func TestRejectedKeyWithLaterExpiryIsSameKey(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeKV(t)
	key1 := srv.IssueKey().Key
	v1 := f.Set("s", key1, func(v *kvVersion) { v.exp = time.Now().Add(2 * time.Hour) })
	p := newProvider(t, f, "s", azkv.WithPollInterval(0))
	c := apiClient(t, srv, p)
	ctx := context.Background()
	if err := get(ctx, c); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(24 * time.Hour)
	if _, err := f.client(t, newCredential()).UpdateSecretProperties(ctx, "s", v1, azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Expires: &later},
	}, nil); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(key1)
	if err := get(ctx, c); !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("request = %v; want ErrSameKey: the rejected key with a later exp is still the rejected key", err)
	}
	if n := f.Reads("s"); n != 2 {
		t.Errorf("vault reads = %d, want 2", n)
	}
}
