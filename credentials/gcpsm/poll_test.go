package gcpsm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/gcpsm"
)

func TestPollInterval(t *testing.T) {
	f := newFakeSM(t)
	if p, _ := newProvider(t, f); p.PollInterval() != gcpsm.DefaultPollInterval || gcpsm.DefaultPollInterval != 5*time.Minute {
		t.Errorf("default PollInterval = %v; want DefaultPollInterval (5m)", p.PollInterval())
	}
	if p, _ := newProvider(t, f, gcpsm.WithPollInterval(30*time.Second)); p.PollInterval() != 30*time.Second {
		t.Errorf("PollInterval = %v; want 30s", p.PollInterval())
	}
	if p, _ := newProvider(t, f, gcpsm.WithPollInterval(0)); p.PollInterval() > 0 {
		t.Errorf("WithPollInterval(0): PollInterval = %v; want polling off", p.PollInterval())
	}
	if p, _ := newProvider(t, f, gcpsm.WithVersion("3")); p.PollInterval() != 0 {
		t.Errorf("pinned version: PollInterval = %v; want 0: a version's data never changes", p.PollInterval())
	}
}

// pollSetup returns a Provider (on version v, "latest" when empty) that has
// read its first key, with the fake's counts reset.
func pollSetup(t *testing.T, v string, opts ...gcpsm.Option) (*fakeSM, *gcpsm.Provider, *logBuffer, credentials.Credential) {
	t.Helper()
	f := newFakeSM(t)
	f.put(secretID, newKey())
	if v != "" {
		f.setAlias(secretID, v, 1)
		opts = append(opts, gcpsm.WithVersion(v))
	}
	p, logs := newProvider(t, f, opts...)
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.resetCounts()
	return f, p, logs, cur
}

func TestPoll(t *testing.T) {
	ctx := context.Background()
	t.Run("unchanged: one GetSecretVersion, no payload read", func(t *testing.T) {
		f, p, _, cur := pollSetup(t, "")
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || changed || cred.Key != cur.Key {
			t.Fatalf("Poll = %v, %v, %v; want the key unchanged", cred, changed, err)
		}
		if f.count("GetSecretVersion") != 1 || f.count("AccessSecretVersion") != 0 {
			t.Errorf("GetSecretVersion %d, AccessSecretVersion %d; want 1, 0", f.count("GetSecretVersion"), f.count("AccessSecretVersion"))
		}
	})
	t.Run("a new version: metadata, then that version once", func(t *testing.T) {
		f, p, logs, cur := pollSetup(t, "")
		k2 := newKey()
		if _, err := f.client(t).AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{
			Parent: secretName, Payload: &secretmanagerpb.SecretPayload{Data: []byte(k2)}}); err != nil {
			t.Fatal(err)
		}
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || !changed || cred.Key != k2 {
			t.Fatalf("Poll = %v, %v, %v; want the new key", cred, changed, err)
		}
		if f.count("GetSecretVersion") != 1 || f.count("AccessSecretVersion") != 1 {
			t.Errorf("GetSecretVersion %d, AccessSecretVersion %d; want 1, 1", f.count("GetSecretVersion"), f.count("AccessSecretVersion"))
		}
		// The next poll knows version 2: back to metadata only.
		if _, changed, err := p.Poll(ctx, cred); err != nil || changed || f.count("AccessSecretVersion") != 1 {
			t.Errorf("second Poll: changed %v, err %v, AccessSecretVersion %d; want unchanged, no new read", changed, err, f.count("AccessSecretVersion"))
		}
		assertNoSecret(t, []string{cur.Key, k2}, logs.String())
	})
	t.Run("a new version with the same key is no change", func(t *testing.T) {
		f, p, _, cur := pollSetup(t, "")
		f.put(secretID, cur.Key)
		if _, changed, err := p.Poll(ctx, cur); err != nil || changed {
			t.Fatalf("Poll: changed %v, %v; want unchanged", changed, err)
		}
	})
	t.Run("the alias moved", func(t *testing.T) {
		f, p, _, cur := pollSetup(t, "prod")
		k2 := newKey()
		f.put(secretID, k2)
		if _, changed, err := p.Poll(ctx, cur); err != nil || changed {
			t.Fatalf("Poll before the alias moved: changed %v, %v; want unchanged (a new version the alias does not name)", changed, err)
		}
		if _, err := f.client(t).UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{
			Secret:     &secretmanagerpb.Secret{Name: secretName, VersionAliases: map[string]int64{"prod": 2}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"version_aliases"}}}); err != nil {
			t.Fatal(err)
		}
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || !changed || cred.Key != k2 {
			t.Fatalf("Poll after the alias moved = %v, %v, %v; want the key of version 2", cred, changed, err)
		}
	})
	t.Run("the newest version is disabled: the key in use, the newest enabled, stays; logged once", func(t *testing.T) {
		f, p, logs, cur := pollSetup(t, "")
		f.put(secretID, newKey())
		f.setState(secretID, 2, secretmanagerpb.SecretVersion_DISABLED)
		for range 3 {
			if cred, changed, err := p.Poll(ctx, cur); err != nil || changed || cred.Key != cur.Key {
				t.Fatalf("Poll = %v, %v, %v; want the key in use, unchanged, no error", cred, changed, err)
			}
		}
		if g, l, a := f.count("GetSecretVersion"), f.count("ListSecretVersions"), f.count("AccessSecretVersion"); g != 3 || l != 3 || a != 0 {
			t.Errorf("GetSecretVersion %d, ListSecretVersions %d, AccessSecretVersion %d; want 3, 3, 0: a disabled version is not read", g, l, a)
		}
		if n := strings.Count(logs.String(), `"newest_version":"2","state":"DISABLED","using_version":"1"`); n != 1 {
			t.Errorf("the disabled version was logged %d times; want once:\n%s", n, logs)
		}
	})
	t.Run("the version in use is disabled: a rollback to the previous enabled version, then forward again", func(t *testing.T) {
		f := newFakeSM(t)
		k1, k2, k3 := newKey(), newKey(), newKey()
		f.put(secretID, k1)
		f.put(secretID, k2)
		p, logs := newProvider(t, f)
		cur, err := p.Retrieve(ctx)
		if err != nil || cur.Key != k2 {
			t.Fatalf("Retrieve = %v, %v; want version 2", cur, err)
		}
		if _, err := f.client(t).DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: secretName + "/versions/2"}); err != nil {
			t.Fatal(err)
		}
		f.resetCounts()
		cred, changed, err := p.Poll(ctx, cur)
		if err != nil || !changed || cred.Key != k1 {
			t.Fatalf("Poll after disabling version 2 = %v, %v, %v; want version 1's key", cred, changed, err)
		}
		if g, l, a := f.count("GetSecretVersion"), f.count("ListSecretVersions"), f.count("AccessSecretVersion"); g != 1 || l != 1 || a != 1 {
			t.Errorf("GetSecretVersion %d, ListSecretVersions %d, AccessSecretVersion %d; want 1, 1, 1", g, l, a)
		}
		f.put(secretID, k3)
		cred, changed, err = p.Poll(ctx, cred)
		if err != nil || !changed || cred.Key != k3 {
			t.Fatalf("Poll after adding version 3 = %v, %v, %v; want version 3's key", cred, changed, err)
		}
		if l := f.count("ListSecretVersions"); l != 1 {
			t.Errorf("ListSecretVersions %d; want no more once the newest version is enabled", l)
		}
		assertNoSecret(t, []string{k1, k2, k3}, logs.String())
	})
	t.Run("an alias on a disabled version keeps the key in use", func(t *testing.T) {
		f, p, _, cur := pollSetup(t, "prod")
		f.setState(secretID, 1, secretmanagerpb.SecretVersion_DISABLED)
		if cred, changed, err := p.Poll(ctx, cur); err != nil || changed || cred.Key != cur.Key {
			t.Fatalf("Poll = %v, %v, %v; want the key in use, unchanged", cred, changed, err)
		}
		if l, a := f.count("ListSecretVersions"), f.count("AccessSecretVersion"); l != 0 || a != 0 {
			t.Errorf("ListSecretVersions %d, AccessSecretVersion %d; want 0, 0: an alias is the operator's choice", l, a)
		}
	})
	t.Run("a key this Provider did not read: the version is read", func(t *testing.T) {
		f, p, _, cur := pollSetup(t, "")
		cred, changed, err := p.Poll(ctx, credentials.Credential{Key: newKey()})
		if err != nil || !changed || cred.Key != cur.Key || f.count("AccessSecretVersion") != 1 || f.count("GetSecretVersion") != 0 {
			t.Fatalf("Poll = %v, %v, %v (Access %d, Get %d); want the stored key from one read", cred, changed, err,
				f.count("AccessSecretVersion"), f.count("GetSecretVersion"))
		}
	})
	t.Run("polling denied: the error names the permission and the way out", func(t *testing.T) {
		f, p, _, cur := pollSetup(t, "")
		f.deny("secretmanager.versions.get")
		_, changed, err := p.Poll(ctx, cur)
		if changed || !errors.Is(err, gcpsm.ErrPermissionDenied) {
			t.Fatalf("Poll: changed %v, %v; want ErrPermissionDenied", changed, err)
		}
		for _, w := range []string{"GetSecretVersion: PERMISSION_DENIED", "secretmanager.versions.get", "roles/secretmanager.viewer", "gcpsm.WithPollInterval(0)"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not contain %q:\n%s", w, err)
			}
		}
		assertNoSecret(t, []string{cur.Key}, err)
	})
	t.Run("read quota: the error says to poll less often", func(t *testing.T) {
		f, p, _, cur := pollSetup(t, "")
		f.exhaust("GetSecretVersion", 1)
		_, _, err := p.Poll(ctx, cur)
		if !errors.Is(err, gcpsm.ErrQuotaExceeded) || !strings.Contains(err.Error(), `"Read requests" quota (600 a minute`) {
			t.Fatalf("Poll error = %v; want ErrQuotaExceeded about the Read requests quota", err)
		}
		if f.count("GetSecretVersion") != 1 {
			t.Errorf("GetSecretVersion %d; want 1 (the client does not retry it)", f.count("GetSecretVersion"))
		}
	})
}
