package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/vault"
)

func TestPollInterval(t *testing.T) {
	f := newFakeVault(t)
	if got := newProvider(t, f).PollInterval(); got != vault.DefaultPollInterval || vault.DefaultPollInterval != time.Minute {
		t.Errorf("default PollInterval = %v; want DefaultPollInterval (1m)", got)
	}
	if got := newProvider(t, f, vault.WithPollInterval(5*time.Second)).PollInterval(); got != 5*time.Second {
		t.Errorf("PollInterval = %v; want 5s", got)
	}
	if got := newProvider(t, f, vault.WithPollInterval(0)).PollInterval(); got > 0 {
		t.Errorf("WithPollInterval(0): PollInterval = %v; want polling off (<= 0)", got)
	}
}

// pollSetup returns the state of the fake after the Provider read key1 at version 1.
func pollSetup(t *testing.T, opts ...vault.Option) (*fakeVault, *vault.Provider, credentials.Credential) {
	t.Helper()
	f := newFakeVault(t)
	f.put(mountPath, keyData(key1))
	p := newProvider(t, f, opts...)
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.dataReads.Store(0)
	f.requests.Store(0)
	return f, p, cur
}

func TestPoll(t *testing.T) {
	ctx := context.Background()
	t.Run("unchanged: one metadata read, no secret read", func(t *testing.T) {
		f, p, cur := pollSetup(t)
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || changed || cred.Key != key1 {
			t.Fatalf("Poll = %v, %v, %v; want key1 unchanged", cred, changed, err)
		}
		if f.metaReads.Load() != 1 || f.dataReads.Load() != 0 || f.requests.Load() != 1 {
			t.Errorf("metadata reads %d, data reads %d, requests %d; want 1, 0, 1", f.metaReads.Load(), f.dataReads.Load(), f.requests.Load())
		}
	})
	t.Run("a new version: metadata, then that version", func(t *testing.T) {
		f, p, cur := pollSetup(t)
		f.put(mountPath, keyData(key2))
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || !changed || cred.Key != key2 {
			t.Fatalf("Poll = %v, %v, %v; want key2 changed", cred, changed, err)
		}
		if f.metaReads.Load() != 1 || f.dataReads.Load() != 1 || f.versionReads(2) != 1 {
			t.Errorf("metadata reads %d, data reads %d, reads of version 2: %d; want 1, 1, 1", f.metaReads.Load(), f.dataReads.Load(), f.versionReads(2))
		}
		// The next poll knows version 2: back to one metadata read.
		if _, changed, err := p.Poll(ctx, cred); err != nil || changed || f.dataReads.Load() != 1 {
			t.Errorf("second Poll: changed %v, err %v, data reads %d; want unchanged with no new data read", changed, err, f.dataReads.Load())
		}
	})
	t.Run("a new version with the same key is no change", func(t *testing.T) {
		f, p, cur := pollSetup(t)
		f.put(mountPath, keyData(key1))
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || changed || cred.Key != key1 {
			t.Fatalf("Poll = %v, %v, %v; want key1 unchanged", cred, changed, err)
		}
	})
	t.Run("a key this provider did not read: the latest version is read", func(t *testing.T) {
		f, p, _ := pollSetup(t)
		cred, changed, err := p.Poll(ctx, credentials.Credential{Key: key2})
		if err != nil || !changed || cred.Key != key1 || f.dataReads.Load() != 1 || f.metaReads.Load() != 0 {
			t.Fatalf("Poll = %v, %v, %v (data %d, metadata %d); want key1 changed from one data read", cred, changed, err, f.dataReads.Load(), f.metaReads.Load())
		}
	})
	t.Run("custom metadata expiry moved: same key, changed, no data read", func(t *testing.T) {
		soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		f := newFakeVault(t)
		f.put(mountPath, keyData(key1))
		f.setCustomMetadata(mountPath, map[string]string{"expires_at": soon.Format(time.RFC3339)})
		p := newProvider(t, f, vault.WithExpiryMetadata("expires_at"))
		cur, err := p.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, changed, err := p.Poll(ctx, cur); changed || err != nil {
			t.Fatalf("Poll before the change: changed %v, %v", changed, err)
		}
		later := soon.Add(48 * time.Hour)
		f.setCustomMetadata(mountPath, map[string]string{"expires_at": later.Format(time.RFC3339)})
		before := f.dataReads.Load()
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || !changed || cred.Key != key1 || !cred.Expiry.Equal(later) || f.dataReads.Load() != before {
			t.Fatalf("Poll = %v (expiry %v), %v, %v; want key1 expiring %v, changed, from the metadata only", cred, cred.Expiry, changed, err, later)
		}
	})
	t.Run("the new version was deleted", func(t *testing.T) {
		f, p, cur := pollSetup(t)
		f.put(mountPath, keyData(key2))
		f.deleteLatest(mountPath)
		_, changed, err := p.Poll(ctx, cur)
		if changed || !errors.Is(err, vault.ErrVersionDeleted) || !strings.Contains(err.Error(), "vault kv undelete -mount=secret -versions=2 myapp/billing") {
			t.Fatalf("Poll: changed %v, err %v; want ErrVersionDeleted naming the undelete command", changed, err)
		}
		if f.dataReads.Load() != 0 {
			t.Errorf("data reads = %d; the metadata already said the version is deleted", f.dataReads.Load())
		}
		assertNoSecret(t, "error", err)
	})
	t.Run("a new version due for deletion later (delete_version_after) is used", func(t *testing.T) {
		f, p, cur := pollSetup(t)
		f.put(mountPath, keyData(key2))
		f.scheduleDeletion(mountPath, time.Now().Add(time.Hour))
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || !changed || cred.Key != key2 {
			t.Fatalf("Poll = %v, %v, %v; want key2 changed", cred, changed, err)
		}
	})
	t.Run("metadata not readable", func(t *testing.T) {
		f, p, cur := pollSetup(t)
		f.deny("secret/metadata/myapp/billing")
		_, changed, err := p.Poll(ctx, cur)
		if changed || !errors.Is(err, vault.ErrPermissionDenied) {
			t.Fatalf("Poll: changed %v, err %v; want ErrPermissionDenied", changed, err)
		}
		for _, want := range []string{`path "secret/metadata/myapp/billing" { capabilities = ["read"] }`, "WithPollInterval(0)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		assertNoSecret(t, "error", err)
	})
	t.Run("sealed", func(t *testing.T) {
		f, p, cur := pollSetup(t)
		f.setSealed(true)
		_, changed, err := p.Poll(ctx, cur)
		if changed || !errors.Is(err, vault.ErrSealed) {
			t.Fatalf("Poll: changed %v, err %v; want ErrSealed", changed, err)
		}
	})
}
