package vault_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/vault"
)

// Every failure names what was read, says what to do, matches its sentinel,
// contains no secret, and stops a Cache at once: the Vault client has
// retried what it retries, and the Cache must not multiply that.
func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, f *fakeVault) *vault.Provider
		is       []error
		status   int
		want     []string
		requests int64 // what one Retrieve costs
	}{
		{
			name: "sealed",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData(key1))
				f.setSealed(true)
				return newProvider(t, f)
			},
			is: []error{vault.ErrSealed}, status: 503,
			want:     []string{"Vault is sealed (503)", "vault operator unseal", "VAULT_ADDR"},
			requests: 3, // the client's own 2 retries (MaxRetries)
		},
		{
			name: "permission denied",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData(key1))
				f.deny("secret/data/myapp/billing")
				return newProvider(t, f)
			},
			is: []error{vault.ErrPermissionDenied}, status: 403,
			want: []string{"permission denied (403) (Vault said: permission denied)",
				`path "secret/data/myapp/billing" { capabilities = ["read"] }`, "vault token capabilities secret/data/myapp/billing", "vault token lookup"},
			requests: 1,
		},
		{
			name: "revoked token",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData(key1))
				c := f.client(t)
				c.SetToken("hvs.revokedTokenXYZ0123456789")
				p, _ := vault.New(c, mount, path, field)
				return p
			},
			is: []error{vault.ErrPermissionDenied}, status: 403,
			want:     []string{"has not expired or been revoked"},
			requests: 1,
		},
		{
			name: "no token",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData(key1))
				c := f.client(t)
				c.SetToken("")
				p, _ := vault.New(c, mount, path, field)
				return p
			},
			is: []error{vault.ErrPermissionDenied}, status: 403,
			want:     []string{"the Vault client has no token: set VAULT_TOKEN"},
			requests: 1,
		},
		{
			name:  "missing path",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider { return newProvider(t, f) },
			is:    []error{vault.ErrNotFound, credentials.ErrNoCredentials}, status: 404,
			want:     []string{`no secret at path "myapp/billing" in mount "secret" (404)`, "vault kv get -mount=secret myapp/billing"},
			requests: 2, // the read, and the mount lookup that tells a missing secret from a wrong mount
		},
		{
			name: "path given with the API's data/ segment",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData(key1))
				p, _ := vault.New(f.client(t), mount, "data/"+path, field)
				return p
			},
			is: []error{vault.ErrNotFound}, status: 404,
			want:     []string{`without the "data/" segment`},
			requests: 2,
		},
		{
			name: "no such mount",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				p, _ := vault.New(f.client(t), "nope", path, field)
				return p
			},
			is: []error{vault.ErrNotFound, credentials.ErrNoCredentials}, status: 404,
			want:     []string{`in mount "nope"`},
			requests: 2,
		},
		{
			name: "KV version 1 mount",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				p, _ := vault.New(f.client(t), "kv1", path, field)
				return p
			},
			is: []error{vault.ErrNotKVv2}, status: 404,
			want:     []string{`mount "kv1" is a KV version 1 secrets engine`, "vault kv enable-versioning kv1/"},
			requests: 2,
		},
		{
			name: "another secrets engine",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				p, _ := vault.New(f.client(t), "pki", path, field)
				return p
			},
			is: []error{vault.ErrNotKVv2}, status: 404,
			want:     []string{`mount "pki" is a "pki" secrets engine, not KV version 2`},
			requests: 2,
		},
		{
			name: "missing field",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, map[string]any{"apikey": key1, "db_password": otherValue})
				return newProvider(t, f)
			},
			is:       []error{vault.ErrFieldNotFound, credentials.ErrNoCredentials},
			want:     []string{`version 1 has no field "api_key" (its fields: "apikey", "db_password")`, "vault kv patch -mount=secret myapp/billing api_key=<key>"},
			requests: 1,
		},
		{
			name: "key pasted as a field name",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, map[string]any{key1: "x"})
				return newProvider(t, f)
			},
			is:       []error{vault.ErrFieldNotFound},
			want:     []string{"sk_live_…9f2c"},
			requests: 1,
		},
		{
			name: "field is not a string",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, map[string]any{field: 1234567890123})
				return newProvider(t, f)
			},
			is:       []error{credentials.ErrMalformedKey},
			want:     []string{"holds a JSON number, not a string"},
			requests: 1,
		},
		{
			name: "malformed key",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData("Bearer "+key1))
				return newProvider(t, f)
			},
			is:       []error{credentials.ErrMalformedKey},
			want:     []string{`malformed key in field "api_key" of version 1`, `"Bearer" scheme`},
			requests: 1,
		},
		{
			name: "latest version deleted",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData(key1))
				f.put(mountPath, keyData(key2))
				f.deleteLatest(mountPath)
				return newProvider(t, f)
			},
			is: []error{vault.ErrVersionDeleted, credentials.ErrNoCredentials}, status: 404,
			want:     []string{"version 2 was deleted at", "vault kv undelete -mount=secret -versions=2 myapp/billing"},
			requests: 1,
		},
		{
			name: "latest version destroyed",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				f.put(mountPath, keyData(key1))
				f.destroyLatest(mountPath)
				return newProvider(t, f)
			},
			is: []error{vault.ErrVersionDeleted}, status: 404,
			want:     []string{"version 1 was destroyed", "vault kv put -mount=secret myapp/billing api_key=<key>"},
			requests: 1,
		},
		{
			name: "not Vault at that address",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					f.requests.Add(1)
					w.Write([]byte("<html>" + key1 + "</html>")) //nolint:errcheck
				}))
				t.Cleanup(web.Close)
				c := f.client(t)
				if err := c.SetAddress(web.URL); err != nil {
					t.Fatal(err)
				}
				p, _ := vault.New(c, mount, path, field)
				return p
			},
			is:       []error{vault.ErrNotKVv2},
			want:     []string{"is not the JSON of a Vault read", "VAULT_ADDR"},
			requests: 1,
		},
		{
			name: "Vault unreachable",
			setup: func(t *testing.T, f *fakeVault) *vault.Provider {
				gone := httptest.NewServer(http.NotFoundHandler())
				gone.Close()
				c := f.client(t)
				if err := c.SetAddress(gone.URL); err != nil {
					t.Fatal(err)
				}
				p, _ := vault.New(c, mount, path, field)
				return p
			},
			want:     []string{"could not read from Vault at http://127.0.0.1:", "after the client's own retries"},
			requests: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVault(t)
			p := tt.setup(t, f)
			ctx := context.Background()
			before := f.requests.Load()
			cred, err := p.Retrieve(ctx)
			if err == nil {
				t.Fatalf("Retrieve = %v; want an error", cred)
			}
			direct := f.requests.Load() - before
			if direct != tt.requests {
				t.Errorf("Retrieve made %d requests; want %d", direct, tt.requests)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			var ve *vault.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *vault.Error", err)
			}
			if ve.StatusCode != tt.status || ve.Op != "read" || ve.Path == "" {
				t.Errorf("Error{Op %q, Path %q, StatusCode %d}; want read, a path, status %d", ve.Op, ve.Path, ve.StatusCode, tt.status)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "vault: read ") {
				t.Errorf("error %q does not start with the package and the operation", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			assertNoSecret(t, "error", err)
			assertNoSecret(t, "Provider", p)

			// A Cache in front stops at once: no retry on top of the client's.
			cache := &credentials.Cache{Provider: p}
			defer cache.Close()
			before = f.requests.Load()
			if _, err := cache.Retrieve(ctx); err == nil {
				t.Fatal("Cache.Retrieve succeeded")
			}
			if got := f.requests.Load() - before; got != direct {
				t.Errorf("through a Cache: %d requests; want %d, as many as one Retrieve", got, direct)
			}
		})
	}
}

// The client's own error stays reachable with errors.As.
func TestErrorUnwrapsTheClientError(t *testing.T) {
	f := newFakeVault(t)
	f.put(mountPath, keyData(key1))
	f.deny("secret/data/myapp/billing")
	_, err := newProvider(t, f).Retrieve(context.Background())
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 {
		t.Fatalf("errors.As(*api.ResponseError) = %v; want the 403", err)
	}
	var mk *credentials.MalformedKeyError
	f.put(mountPath, keyData("'"+key1+"'"))
	f.denied = map[string]bool{}
	_, err = newProvider(t, f).Retrieve(context.Background())
	if !errors.As(err, &mk) || !strings.Contains(mk.Source, "Vault secret/data/myapp/billing field \"api_key\" (version 2)") {
		t.Fatalf("errors.As(*credentials.MalformedKeyError) on %v: %+v", err, mk)
	}
}
