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

func TestNewChecksArguments(t *testing.T) {
	f := newFakeVault(t)
	c := f.client(t)
	tests := []struct {
		name               string
		mount, path, field string
		opts               []vault.Option
		want               string
	}{
		{"empty mount", "", path, field, nil, "empty mount"},
		{"slashes only mount", "/", path, field, nil, "empty mount"},
		{"empty path", mount, "", field, nil, "empty path"},
		{"empty field", mount, path, "", nil, "empty field"},
		{"empty expiry field", mount, path, field, []vault.Option{vault.WithExpiryField("")}, "empty field name"},
		{"empty expiry metadata", mount, path, field, []vault.Option{vault.WithExpiryMetadata("")}, "empty metadata key"},
		{"both expiries", mount, path, field, []vault.Option{vault.WithExpiryField("a"), vault.WithExpiryMetadata("b")}, "choose one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := vault.New(c, tt.mount, tt.path, tt.field, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "vault: ") {
				t.Fatalf("New = %v, %v; want an error containing %q", p, err, tt.want)
			}
		})
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("New made %d requests to Vault; want none", n)
	}
}

func TestNewNilClientReadsEnvironment(t *testing.T) {
	f := newFakeVault(t)
	f.put(mountPath, keyData(key1))
	t.Setenv("VAULT_ADDR", f.srv.URL)
	t.Setenv("VAULT_TOKEN", testToken)
	t.Setenv("VAULT_AGENT_ADDR", "")
	t.Setenv("VAULT_NAMESPACE", "")
	p, err := vault.New(nil, "/secret/", "/myapp/billing/", field)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := p.Retrieve(context.Background())
	if err != nil || cred.Key != key1 {
		t.Fatalf("Retrieve = %v, %v; want key1", cred, err)
	}
	if f.badTokens.Load() != 0 {
		t.Errorf("the token from VAULT_TOKEN was not sent")
	}
}

func TestRetrieveReadsTheLatestVersionOnce(t *testing.T) {
	f := newFakeVault(t)
	f.put(mountPath, keyData(key1))
	f.put(mountPath, keyData(key2+"\n")) // written from a file: the newline is trimmed
	p := newProvider(t, f)
	cred, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cred.Key != key2 || !cred.Expiry.IsZero() {
		t.Errorf("Retrieve = %v (expiry %v); want key2 with no expiry", cred, cred.Expiry)
	}
	if got := f.dataReads.Load(); got != 1 {
		t.Errorf("data reads = %d; want 1", got)
	}
	if got := f.requests.Load(); got != 1 {
		t.Errorf("requests = %d; want 1 (no mount lookup, no metadata read)", got)
	}
	assertNoSecret(t, "Provider", p)
}

func TestExpiry(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name    string
		opt     vault.Option
		data    map[string]any
		custom  map[string]string
		want    time.Time
		wantErr string
	}{
		{"no option", nil, map[string]any{"expires_at": at.Format(time.RFC3339)}, nil, time.Time{}, ""},
		{"field RFC 3339", vault.WithExpiryField("expires_at"), map[string]any{"expires_at": at.Format(time.RFC3339)}, nil, at, ""},
		{"field Unix seconds as string", vault.WithExpiryField("expires_at"), map[string]any{"expires_at": "1935817689"}, nil, time.Unix(1935817689, 0), ""},
		{"field Unix seconds as number", vault.WithExpiryField("expires_at"), map[string]any{"expires_at": 1935817689}, nil, time.Unix(1935817689, 0), ""},
		{"field absent", vault.WithExpiryField("expires_at"), nil, nil, time.Time{}, ""},
		{"field empty", vault.WithExpiryField("expires_at"), map[string]any{"expires_at": ""}, nil, time.Time{}, ""},
		{"field garbage", vault.WithExpiryField("expires_at"), map[string]any{"expires_at": "next tuesday"}, nil, time.Time{}, "neither an RFC 3339 time nor Unix seconds"},
		{"field is an object", vault.WithExpiryField("expires_at"), map[string]any{"expires_at": map[string]any{}}, nil, time.Time{}, "JSON object"},
		{"field names the key by mistake", vault.WithExpiryField(field), nil, nil, time.Time{}, "the value is not shown"},
		{"metadata RFC 3339", vault.WithExpiryMetadata("expires_at"), nil, map[string]string{"expires_at": at.Format(time.RFC3339)}, at, ""},
		{"metadata absent", vault.WithExpiryMetadata("expires_at"), nil, map[string]string{"owner": "team"}, time.Time{}, ""},
		{"metadata garbage", vault.WithExpiryMetadata("expires_at"), nil, map[string]string{"expires_at": "soon"}, time.Time{}, "custom metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVault(t)
			data := keyData(key1)
			for k, v := range tt.data {
				data[k] = v
			}
			f.put(mountPath, data)
			if tt.custom != nil {
				f.setCustomMetadata(mountPath, tt.custom)
			}
			var opts []vault.Option
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			cred, err := newProvider(t, f, opts...).Retrieve(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Retrieve = %v, %v; want an error containing %q", cred, err, tt.wantErr)
				}
				assertNoSecret(t, "error", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !cred.Expiry.Equal(tt.want) {
				t.Errorf("Expiry = %v; want %v", cred.Expiry, tt.want)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	t.Run("a new version is returned with one read", func(t *testing.T) {
		f := newFakeVault(t)
		f.put(mountPath, keyData(key1))
		p := newProvider(t, f)
		old, err := p.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.put(mountPath, keyData(key2))
		before := f.requests.Load()
		cred, err := p.Refresh(context.Background(), old)
		if err != nil || cred.Key != key2 {
			t.Fatalf("Refresh = %v, %v; want key2", cred, err)
		}
		if got := f.requests.Load() - before; got != 1 {
			t.Errorf("Refresh made %d requests; want 1", got)
		}
	})
	t.Run("an unchanged version is ErrSameKey at once", func(t *testing.T) {
		f := newFakeVault(t)
		f.put(mountPath, keyData(key1))
		p := newProvider(t, f)
		old, _ := p.Retrieve(context.Background())
		before := f.requests.Load()
		cred, err := p.Refresh(context.Background(), old)
		if !errors.Is(err, credentials.ErrSameKey) {
			t.Fatalf("Refresh = %v, %v; want ErrSameKey", cred, err)
		}
		if !strings.Contains(err.Error(), "version 1 is still the latest") ||
			!strings.Contains(err.Error(), "vault kv patch -mount=secret myapp/billing api_key=") {
			t.Errorf("error does not say what happened and what to do: %v", err)
		}
		if got := f.requests.Load() - before; got != 1 {
			t.Errorf("Refresh made %d requests; want 1", got)
		}
		assertNoSecret(t, "ErrSameKey error", err)
	})
	t.Run("a new version repeating the rejected key is ErrSameKey", func(t *testing.T) {
		f := newFakeVault(t)
		f.put(mountPath, keyData(key1))
		p := newProvider(t, f)
		old, _ := p.Retrieve(context.Background())
		f.put(mountPath, keyData(key1))
		_, err := p.Refresh(context.Background(), old)
		if !errors.Is(err, credentials.ErrSameKey) || !strings.Contains(err.Error(), "latest version (2) holds the same key again") {
			t.Fatalf("Refresh error = %v; want ErrSameKey naming version 2", err)
		}
	})
	t.Run("ahead of expiry, the same key with a later expiry is returned", func(t *testing.T) {
		f := newFakeVault(t)
		soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		later := soon.Add(24 * time.Hour)
		f.put(mountPath, keyData(key1))
		f.setCustomMetadata(mountPath, map[string]string{"expires_at": soon.Format(time.RFC3339)})
		p := newProvider(t, f, vault.WithExpiryMetadata("expires_at"))
		old, _ := p.Retrieve(context.Background())
		f.setCustomMetadata(mountPath, map[string]string{"expires_at": later.Format(time.RFC3339)})
		cred, err := p.Refresh(context.Background(), old)
		if err != nil || cred.Key != key1 || !cred.Expiry.Equal(later) {
			t.Fatalf("Refresh = %v (expiry %v), %v; want key1 expiring %v", cred, cred.Expiry, err, later)
		}
	})
}
