package azkv_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
)

// The first read goes through Key Vault's bearer challenge: one request
// without a token, answered 401; the client asks the TokenCredential for a
// token with the scope and tenant the challenge named, and the vault
// receives it. Later reads send the token at once.
func TestRetrieveThroughTheBearerChallenge(t *testing.T) {
	f := newFakeKV(t)
	key := newKey()
	id := f.Set("billing-api", key)
	cred := newCredential()
	p, err := azkv.NewFromURL(f.srv.URL, cred, "billing-api", azkv.WithClientOptions(f.clientOptions()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		got, err := p.Retrieve(ctx)
		if err != nil || got.Key != key {
			t.Fatalf("Retrieve %d = %v, %v; want the stored key", i, got, err)
		}
	}
	challenges, badTokens, requests := f.Counts()
	if challenges != 1 || badTokens != 0 || requests != 4 || f.ReadsOf(id) != 3 {
		t.Errorf("challenges %d, refused tokens %d, requests %d, authorized reads %d; want 1, 0, 4 (the challenge, then 3 reads with the token), 3",
			challenges, badTokens, requests, f.ReadsOf(id))
	}
	calls, asked := cred.Calls()
	if calls != 1 {
		t.Errorf("the TokenCredential was asked %d times, want 1 (the SDK caches the token until near its expiry)", calls)
	}
	if len(asked) > 0 && (len(asked[0].Scopes) != 1 || asked[0].Scopes[0] != "https://vault.azure.net/.default" || asked[0].TenantID != fakeTenant) {
		t.Errorf("the TokenCredential was asked for scopes %q in tenant %q; want the challenge's https://vault.azure.net/.default in %s",
			asked[0].Scopes, asked[0].TenantID, fakeTenant)
	}
}

// A client the caller built works the same, and New makes no call.
func TestNewWithClient(t *testing.T) {
	f := newFakeKV(t)
	key := newKey()
	f.Set("billing-api", key)
	p, err := azkv.New(f.client(t, newCredential()), "billing-api")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, requests := f.Counts(); requests != 0 {
		t.Fatalf("New made %d requests, want none", requests)
	}
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != key {
		t.Fatalf("Retrieve = %v, %v", got, err)
	}
	if p.Name() != "billing-api" || p.PollInterval() != azkv.DefaultPollInterval {
		t.Errorf("Name, PollInterval = %q, %v", p.Name(), p.PollInterval())
	}
	// The vault's host, learned from the response, names it in errors.
	_, err = p.Refresh(context.Background(), got)
	if !errors.Is(err, credentials.ErrSameKey) || !strings.Contains(err.Error(), `secret "billing-api" version `) ||
		!strings.Contains(err.Error(), " in "+f.srv.Listener.Addr().String()+": ") {
		t.Errorf("Refresh error = %v; want ErrSameKey naming the secret, its version and the vault", err)
	}
}

// How the key is found in the value: the whole value, a field named by
// WithField or by a tag of the version, JSON declared by the content type;
// and the expiry, from the version's exp attribute.
func TestRetrieveValueShapes(t *testing.T) {
	key := newKey()
	exp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	tests := []struct {
		name    string
		value   string
		mod     func(*kvVersion)
		opts    []azkv.Option
		wantExp time.Time
	}{
		{name: "whole value, trailing newline trimmed", value: key + "\n"},
		{name: "JSON field", value: `{"api_key":"` + key + `","account":"billing"}`, opts: []azkv.Option{azkv.WithField("api_key")},
			mod: func(v *kvVersion) { v.contentType = "application/json" }},
		{name: "JSON field without a content type", value: `{"api_key":"` + key + `"}`, opts: []azkv.Option{azkv.WithField("api_key")}},
		{name: "field named by a tag", value: `{"token":"` + key + `","api_key":"old"}`,
			opts: []azkv.Option{azkv.WithField("api_key"), azkv.WithFieldTag("rekey-field")},
			mod: func(v *kvVersion) {
				v.contentType = "application/json; charset=utf-8"
				v.tags = map[string]string{"rekey-field": "token"}
			}},
		{name: "tag absent: WithField's field", value: `{"api_key":"` + key + `"}`,
			opts: []azkv.Option{azkv.WithField("api_key"), azkv.WithFieldTag("rekey-field")}},
		{name: "a text content type, whole value", value: key, mod: func(v *kvVersion) { v.contentType = "text/plain" }},
		{name: "expiry from exp", value: key, mod: func(v *kvVersion) { v.exp = exp }, wantExp: exp},
		{name: "WithoutExpiry ignores exp", value: key, mod: func(v *kvVersion) { v.exp = exp }, opts: []azkv.Option{azkv.WithoutExpiry()}},
		{name: "WithoutExpiry takes an expired version", value: key, mod: func(v *kvVersion) { v.exp = time.Now().Add(-time.Hour) },
			opts: []azkv.Option{azkv.WithoutExpiry()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(t)
			var mods []func(*kvVersion)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			f.Set("s", tt.value, mods...)
			p := newProvider(t, f, "s", tt.opts...)
			got, err := p.Retrieve(context.Background())
			if err != nil || got.Key != key || !got.Expiry.Equal(tt.wantExp) {
				t.Fatalf("Retrieve = %v (expiry %v), %v; want the key with expiry %v", got, got.Expiry, err, tt.wantExp)
			}
			assertNoSecret(t, []string{key}, p)
		})
	}
}

// A pinned version is read by its ID, and is not polled.
func TestPinnedVersion(t *testing.T) {
	f := newFakeKV(t)
	key1, key2 := newKey(), newKey()
	v1 := f.Set("s", key1)
	f.Set("s", key2)
	p := newProvider(t, f, "s", azkv.WithVersion(v1))
	if p.PollInterval() != 0 {
		t.Errorf("PollInterval = %v with a pinned version, want 0", p.PollInterval())
	}
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != key1 || f.ReadsOf(v1) != 1 {
		t.Fatalf("Retrieve = %v, %v (version read %d times); want the pinned version's key, read once", got, err, f.ReadsOf(v1))
	}
	if s := p.String(); !strings.Contains(s, `Version: "`+v1+`"`) {
		t.Errorf("String = %s; want the pinned version", s)
	}
}

// Options are checked at construction, with errors that say what to do.
func TestConstructionErrors(t *testing.T) {
	f := newFakeKV(t)
	cred := newCredential()
	client := f.client(t, cred)
	tests := []struct {
		name string
		new  func() (*azkv.Provider, error)
		want string
	}{
		{"nil client", func() (*azkv.Provider, error) { return azkv.New(nil, "s") }, "nil client"},
		{"typed nil client", func() (*azkv.Provider, error) { return azkv.New((*azsecrets.Client)(nil), "s") }, "nil client"},
		{"empty name", func() (*azkv.Provider, error) { return azkv.New(client, "") }, "empty secret name"},
		{"name with a slash", func() (*azkv.Provider, error) { return azkv.New(client, "billing/abc") }, "WithVersion"},
		{"identifier as name", func() (*azkv.Provider, error) {
			return azkv.New(client, "https://prod-kv.vault.azure.net/secrets/billing-api/0123")
		}, "identifier URL"},
		{"name with an underscore", func() (*azkv.Provider, error) { return azkv.New(client, "billing_api") }, "letters, digits and dashes"},
		{"name too long", func() (*azkv.Provider, error) { return azkv.New(client, strings.Repeat("a", 128)) }, "1 to 127"},
		{"empty version", func() (*azkv.Provider, error) { return azkv.New(client, "s", azkv.WithVersion("")) }, "omit the option"},
		{"bad version", func() (*azkv.Provider, error) { return azkv.New(client, "s", azkv.WithVersion("v1/2")) }, "32 hexadecimal"},
		{"pinned and polled", func() (*azkv.Provider, error) {
			return azkv.New(client, "s", azkv.WithVersion("0123abcd"), azkv.WithPollInterval(time.Minute))
		}, "nothing to poll"},
		{"pinned and polled by GET", func() (*azkv.Provider, error) {
			return azkv.New(client, "s", azkv.WithVersion("0123abcd"), azkv.WithPollByGet())
		}, "drop WithPollByGet"},
		{"empty field", func() (*azkv.Provider, error) { return azkv.New(client, "s", azkv.WithField("")) }, "empty field name"},
		{"empty field tag", func() (*azkv.Provider, error) { return azkv.New(client, "s", azkv.WithFieldTag("")) }, "empty tag name"},
		{"client options with New", func() (*azkv.Provider, error) {
			return azkv.New(client, "s", azkv.WithClientOptions(&azsecrets.ClientOptions{}))
		}, "NewFromURL only"},
		{"nil client options", func() (*azkv.Provider, error) {
			return azkv.NewFromURL("https://prod-kv.vault.azure.net/", cred, "s", azkv.WithClientOptions(nil))
		}, "nil options"},
		{"http vault URL", func() (*azkv.Provider, error) { return azkv.NewFromURL("http://prod-kv.vault.azure.net/", cred, "s") }, "https only"},
		{"vault URL without a host", func() (*azkv.Provider, error) { return azkv.NewFromURL("https:///", cred, "s") }, "no host"},
		{"not a URL", func() (*azkv.Provider, error) { return azkv.NewFromURL("prod-kv", cred, "s") }, "https only"},
		{"secret identifier as vault URL", func() (*azkv.Provider, error) {
			return azkv.NewFromURL("https://prod-kv.vault.azure.net/secrets/billing-api/0123", cred, "billing-api")
		}, "secret identifier"},
		{"vault URL with a query", func() (*azkv.Provider, error) {
			return azkv.NewFromURL("https://prod-kv.vault.azure.net/?api-version=7.4", cred, "s")
		}, "path, query or fragment"},
		{"nil credential", func() (*azkv.Provider, error) { return azkv.NewFromURL("https://prod-kv.vault.azure.net/", nil, "s") }, "nil TokenCredential"},
		{"bad name with NewFromURL", func() (*azkv.Provider, error) {
			return azkv.NewFromURL("https://prod-kv.vault.azure.net/", cred, "a b")
		}, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.new()
			if err == nil {
				t.Fatalf("got %v, nil; want an error", p)
			}
			if !strings.HasPrefix(err.Error(), "azkv: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q; want the package prefix and %q", err, tt.want)
			}
		})
	}
	if _, _, requests := f.Counts(); requests != 0 {
		t.Errorf("construction made %d requests, want none", requests)
	}
}

// A Provider prints its vault, name and options, never a key.
func TestProviderString(t *testing.T) {
	p, err := azkv.NewFromURL("https://prod-kv.vault.azure.net/", newCredential(), "billing-api",
		azkv.WithField("api_key"), azkv.WithFieldTag("rekey-field"))
	if err != nil {
		t.Fatal(err)
	}
	want := `azkv.Provider{Vault: "prod-kv.vault.azure.net", Name: "billing-api", Field: "api_key", FieldTag: "rekey-field"}`
	for _, got := range []string{p.String(), sprintf("%v", p), sprintf("%+v", p), sprintf("%#v", p)} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// The vault under its real host name, resolved to the test server as a DNS
// override would, with the SDK's challenge check left on: the challenge's
// resource (https://vault.azure.net) matches the host, no option is needed,
// and the errors name the vault for the az commands they suggest.
func TestVaultHostName(t *testing.T) {
	f := newFakeKV(t)
	key := newKey()
	f.Set("billing-api", key)
	addr := f.srv.Listener.Addr().String()
	tr := f.srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // the name in the test server's certificate
	t.Cleanup(tr.CloseIdleConnections)
	p, err := azkv.NewFromURL("https://prod-kv.vault.azure.net/", newCredential(), "billing-api",
		azkv.WithClientOptions(&azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: &http.Client{Transport: tr}}}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cred, err := p.Retrieve(ctx)
	if err != nil || cred.Key != key {
		t.Fatalf("Retrieve = %v, %v", cred, err)
	}
	_, err = p.Refresh(ctx, cred)
	if !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("Refresh error = %v; want ErrSameKey", err)
	}
	for _, w := range []string{" in prod-kv.vault.azure.net: ", "--vault-name prod-kv --name billing-api"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q: %v", w, err)
		}
	}
}
