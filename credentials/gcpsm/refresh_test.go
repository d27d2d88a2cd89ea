package gcpsm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/cenkalti/backoff/v4"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/gcpsm"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// Refresh on its own: one read, and "nothing newer" is a permanent
// ErrSameKey that says where to put the new key.
func TestRefresh(t *testing.T) {
	tests := []struct {
		name    string
		version string                             // WithVersion; "" for latest
		setup   func(f *fakeSM, old, fresh string) // after the first read
		wantNew bool
		want    []string // in the ErrSameKey message
	}{
		{name: "a new version", setup: func(f *fakeSM, _, fresh string) { f.put(secretID, fresh) }, wantNew: true},
		{name: "nothing new", setup: func(*fakeSM, string, string) {},
			want: []string{`version 1 is still the one "latest" (the newest enabled version) names`, "gcloud secrets versions add billing-api-key --project=my-project --data-file=-"}},
		{name: "a new version repeats the key", setup: func(f *fakeSM, old, _ string) { f.put(secretID, old) },
			want: []string{"version 2, a new version, holds the same key again"}},
		{name: "the alias did not move", version: "prod", setup: func(f *fakeSM, _, fresh string) { f.put(secretID, fresh) },
			want: []string{`version 1 is still the one alias "prod" names`, "move the alias to it", "--update-version-aliases=prod=<version>"}},
		{name: "the alias moved", version: "prod", setup: func(f *fakeSM, _, fresh string) { f.setAlias(secretID, "prod", f.put(secretID, fresh)) }, wantNew: true},
		{name: "a pinned version", version: "1", setup: func(f *fakeSM, _, fresh string) { f.put(secretID, fresh) },
			want: []string{"pinned to version 1, whose data never changes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			old, fresh := newKey(), newKey()
			f.put(secretID, old)
			var opts []gcpsm.Option
			if tt.version != "" {
				if tt.version == "prod" {
					f.setAlias(secretID, "prod", 1)
				}
				opts = append(opts, gcpsm.WithVersion(tt.version))
			}
			p, logs := newProvider(t, f, opts...)
			ctx := context.Background()
			cur, err := p.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(f, old, fresh)
			f.resetCounts()
			got, err := p.Refresh(ctx, cur)
			if n := f.count("AccessSecretVersion"); n != 1 || f.count("GetSecretVersion") != 0 {
				t.Errorf("Refresh made %d AccessSecretVersion and %d GetSecretVersion calls; want 1 and 0", n, f.count("GetSecretVersion"))
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
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%s", w, err)
				}
			}
			assertNoSecret(t, []string{old, fresh}, err, got, logs.String())
		})
	}
}

// A refresh ahead of expiry accepts the same key with a later expiry, and
// only that.
func TestRefreshAheadOfExpiry(t *testing.T) {
	f := newFakeSM(t)
	key := newKey()
	f.put(secretID, `{"api_key":"`+key+`","exp":"2030-01-01T00:00:00Z"}`)
	p, _ := newProvider(t, f, gcpsm.WithField("api_key"), gcpsm.WithExpiryField("exp"))
	ctx := context.Background()
	cur, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Refresh(ctx, cur); !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("Refresh with the same expiry = %v; want ErrSameKey", err)
	}
	f.put(secretID, `{"api_key":"`+key+`","exp":"2031-01-01T00:00:00Z"}`)
	got, err := p.Refresh(ctx, cur)
	if err != nil || got.Key != key || got.Expiry.Year() != 2031 {
		t.Fatalf("Refresh = %v (expiry %v), %v; want the same key expiring in 2031", got, got.Expiry, err)
	}
}

// A rotation in the store followed by a rejection recovers with exactly one
// store read.
func TestCacheRejectionAfterRotationReadsOnce(t *testing.T) {
	f := newFakeSM(t)
	k1, k2 := newKey(), newKey()
	f.put(secretID, k1)
	p, _ := newProvider(t, f)
	cache := &credentials.Cache{Provider: p}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	old, err := cache.Retrieve(ctx)
	if err != nil || old.Key != k1 {
		t.Fatalf("Retrieve = %v, %v", old, err)
	}
	f.put(secretID, k2)
	f.resetCounts()
	cred, err := cache.Invalidate(ctx, old)
	if err != nil || cred.Key != k2 {
		t.Fatalf("Invalidate = %v, %v; want the new key", cred, err)
	}
	if n := f.count("AccessSecretVersion"); n != 1 {
		t.Errorf("recovery made %d AccessSecretVersion calls; want exactly 1", n)
	}
}

// 200 goroutines rejected at once cause one read.
func TestCacheConcurrentRejectionsReadOnce(t *testing.T) {
	f := newFakeSM(t)
	k1, k2 := newKey(), newKey()
	f.put(secretID, k1)
	p, _ := newProvider(t, f)
	cache := &credentials.Cache{Provider: p}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	old, err := cache.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.put(secretID, k2)
	f.resetCounts()
	// Hold Secret Manager's answer until every goroutine has asked, so that
	// they all meet the one refresh in flight.
	f.holdAccess()
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
			if err == nil && cred.Key != k2 {
				err = errors.New("got a key other than the new one")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	testwait.Group(t, &started, testwait.Timeout, "the goroutines to start")
	f.release()
	testwait.Group(t, &done, testwait.Timeout, "the rejected goroutines")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.count("AccessSecretVersion"); got != 1 {
		t.Errorf("%d concurrent rejections made %d reads; want 1", n, got)
	}
}

// An unchanged version means "nothing newer" at once: one read, no retry,
// no backoff, and the Cache's cooldown keeps later callers from asking again.
func TestCacheUnchangedVersionFailsAtOnce(t *testing.T) {
	f := newFakeSM(t)
	key := newKey()
	f.put(secretID, key)
	p, _ := newProvider(t, f)
	var mu sync.Mutex
	var events []credentials.RefreshEvent
	cache := &credentials.Cache{Provider: p, OnRefresh: func(ev credentials.RefreshEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	old, err := cache.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.resetCounts()
	_, err = cache.Invalidate(ctx, old)
	if !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("Invalidate error = %v; want ErrSameKey", err)
	}
	if _, err2 := cache.Invalidate(ctx, old); !errors.Is(err2, credentials.ErrSameKey) {
		t.Fatalf("second Invalidate error = %v; want the cooled-down ErrSameKey", err2)
	}
	if n := f.count("AccessSecretVersion"); n != 1 {
		t.Errorf("made %d AccessSecretVersion calls; want exactly 1 (no retry)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	last := events[len(events)-1]
	if last.Phase != credentials.RefreshFailed || last.Attempts != 1 {
		t.Errorf("last refresh event = %+v; want a failure after 1 attempt", last)
	}
	assertNoSecret(t, []string{key}, cache, err)
}

// The newest version was disabled after the key in use was read (a bad
// rotation switched off): a rejection reads "latest" (refused), lists the
// enabled versions, reads the newest enabled one, finds the rejected key
// there and fails at once with ErrSameKey, saying that the newest version is
// disabled.
func TestRejectionWithLatestDisabled(t *testing.T) {
	f := newFakeSM(t)
	key := newKey()
	f.put(secretID, key)
	p, logs := newProvider(t, f, gcpsm.WithPollInterval(time.Hour))
	cache := &credentials.Cache{Provider: p}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	old, err := cache.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.put(secretID, newKey())
	f.setState(secretID, 2, secretmanagerpb.SecretVersion_DISABLED)
	f.resetCounts()
	_, err = cache.Invalidate(ctx, old)
	if !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("Invalidate = %v; want ErrSameKey", err)
	}
	for _, w := range []string{`version 1 is still the one "latest" (the newest enabled version) names (version 2, the newest, is DISABLED)`,
		"enable the newest version, or add the new key as a new version"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%s", w, err)
		}
	}
	if a, l := f.count("AccessSecretVersion"), f.count("ListSecretVersions"); a != 2 || l != 1 {
		t.Errorf("AccessSecretVersion %d, ListSecretVersions %d; want 2 (latest, refused; version 1) and 1", a, l)
	}
	if !strings.Contains(logs.String(), `"newest_version":"2","state":"DISABLED","using_version":"1"`) {
		t.Errorf("the fallback was not logged:\n%s", logs)
	}
	assertNoSecret(t, []string{key}, err, logs.String())
}
