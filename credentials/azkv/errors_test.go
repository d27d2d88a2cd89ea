package azkv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
)

// Every failure of a read: a typed error naming the vault, the secret and
// what to do, matching its sentinel, after a counted number of requests,
// and never containing the secret or the access token.
func TestRetrieveErrors(t *testing.T) {
	key := newKey()
	past := time.Now().Add(-time.Hour)
	tests := []struct {
		name  string
		value string // the stored value (default: key)
		mod   func(*kvVersion)
		name2 string // the name the Provider reads (default "billing-api")
		opts  []azkv.Option
		setup func(f *fakeKV, cred *staticCredential)
		is    []error
		want  []string // substrings of the message
		reads int      // authorized GETs of the secret
	}{
		{name: "not found", name2: "billing-apii",
			is:    []error{azkv.ErrNotFound, credentials.ErrNoCredentials},
			want:  []string{`"billing-apii"`, "404 SecretNotFound", "was not found in this key vault", "request id a1b2c3d4-", "az keyvault secret show", "az keyvault secret recover"},
			reads: 1},
		{name: "pinned version not found", opts: []azkv.Option{azkv.WithVersion("00000000000000000000000000000bad")},
			is:    []error{azkv.ErrNotFound},
			want:  []string{"version 00000000000000000000000000000bad", "404 SecretNotFound", "list-versions"},
			reads: 1},
		{name: "forbidden by RBAC", setup: func(f *fakeKV, _ *staticCredential) { f.Deny("billing-api", "ForbiddenByRbac") },
			is:    []error{azkv.ErrForbidden},
			want:  []string{"403 Forbidden/ForbiddenByRbac", "Caller: appid=", "getSecret/action", `"Key Vault Secrets User" role`, "az role assignment create", `"Key Vault Reader" is not enough`},
			reads: 1},
		{name: "forbidden by an access policy", setup: func(f *fakeKV, _ *staticCredential) { f.Deny("billing-api", "AccessDenied") },
			is:    []error{azkv.ErrForbidden},
			want:  []string{"403 Forbidden/AccessDenied", "does not have secrets get permission", "access policies", "--secret-permissions get", "Key Vault Secrets User"},
			reads: 1},
		{name: "forbidden by the firewall", setup: func(f *fakeKV, _ *staticCredential) { f.Deny("billing-api", "ForbiddenByFirewall") },
			is:    []error{azkv.ErrForbidden},
			want:  []string{"ForbiddenByFirewall", "Client address: 203.0.113.7", "firewall", "private endpoint"},
			reads: 1},
		{name: "disabled version", mod: func(v *kvVersion) { v.enabled = false },
			is:    []error{azkv.ErrDisabled, credentials.ErrNoCredentials},
			want:  []string{"403 Forbidden/SecretDisabled", "not allowed on a disabled secret", "--enabled true"},
			reads: 1},
		{name: "expired version (exp attribute)", mod: func(v *kvVersion) { v.exp = past },
			is:    []error{azkv.ErrExpired, credentials.ErrNoCredentials},
			want:  []string{"expired at " + past.UTC().Format("2006-01-02T15:04:05Z"), "exp", "az keyvault secret set", "WithoutExpiry"},
			reads: 1},
		{name: "expired version (403 SecretExpired)", mod: func(v *kvVersion) { v.exp = past },
			setup: func(f *fakeKV, _ *staticCredential) { f.expired403 = true },
			is:    []error{azkv.ErrExpired},
			want:  []string{"403 Forbidden/SecretExpired", "set-attributes"},
			reads: 1},
		{name: "throttled beyond the SDK's retries", setup: func(f *fakeKV, _ *staticCredential) { f.Throttle(1000, "0") },
			is:    []error{azkv.ErrThrottled},
			want:  []string{"429 Throttled", "too many requests", "Retry-After: 0", "MaxRetries", "WithPollInterval"},
			reads: 4}, // the first try and the SDK's 3 retries
		{name: "throttled, Retry-After longer than MaxRetryDelay", setup: func(f *fakeKV, _ *staticCredential) { f.Throttle(1000, "30") },
			is:    []error{azkv.ErrThrottled},
			want:  []string{"429 Throttled", "Retry-After: 30", "MaxRetryDelay"},
			reads: 1}, // the SDK does not wait 30 s when MaxRetryDelay is shorter
		{name: "token refused", setup: func(_ *fakeKV, c *staticCredential) { c.token = "eyJ.wrong-token-for-another-tenant" },
			is:   []error{azkv.ErrUnauthorized},
			want: []string{"401 Unauthorized", "AKV10032: Invalid issuer", "tenant"}},
		{name: "credential fails", setup: func(_ *fakeKV, c *staticCredential) {
			c.err = errors.New("ManagedIdentityCredential: no managed identity endpoint is available")
		},
			is:   []error{azkv.ErrUnauthorized},
			want: []string{"TokenCredential could not get a token", "no managed identity endpoint", "az login"}},
		{name: "missing JSON field", value: `{"token":"` + key + `","owner":"billing"}`, opts: []azkv.Option{azkv.WithField("api_key")},
			is:    []error{azkv.ErrNoKey, credentials.ErrNoCredentials},
			want:  []string{`no field "api_key"`, `"owner", "token"`, `secret "billing-api" version `},
			reads: 1},
		{name: "field named by a missing tag field", value: `{"api_key":"` + key + `"}`, opts: []azkv.Option{azkv.WithFieldTag("rekey-field")},
			mod: func(v *kvVersion) { v.tags = map[string]string{"rekey-field": "token"} },
			is:  []error{azkv.ErrNoKey}, want: []string{`field "token" (named by tag "rekey-field")`, `"api_key"`}, reads: 1},
		{name: "not JSON although a field was asked for", opts: []azkv.Option{azkv.WithField("api_key")},
			mod: func(v *kvVersion) { v.contentType = "text/plain" },
			is:  []error{azkv.ErrNoKey}, want: []string{"not a JSON object", `content type is "text/plain"`, "application/json"}, reads: 1},
		{name: "JSON content type without a field", value: `{"api_key":"` + key + `"}`,
			mod: func(v *kvVersion) { v.contentType = "application/json" },
			is:  []error{azkv.ErrNoKey}, want: []string{"content type is application/json", `the object has: "api_key"`, "azkv.WithField", "WithFieldTag"}, reads: 1},
		{name: "field not a string", value: `{"api_key":12345678901234567890}`, opts: []azkv.Option{azkv.WithField("api_key")},
			is: []error{azkv.ErrNoKey}, want: []string{`field "api_key" holds a number, not a string`}, reads: 1},
		{name: "empty value", value: "  \n", is: []error{azkv.ErrNoKey}, want: []string{"the value is empty"}, reads: 1},
		{name: "malformed key", value: "Bearer " + key,
			is: []error{credentials.ErrMalformedKey}, want: []string{"malformed", `Azure Key Vault secret "billing-api"`, "Bearer"}, reads: 1},
		{name: "an answer that does not decode", setup: func(f *fakeKV, _ *staticCredential) { f.garbage = true },
			want: []string{"could not be decoded"}, reads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(t)
			value := tt.value
			if value == "" {
				value = key
			}
			var mods []func(*kvVersion)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			f.Set("billing-api", value, mods...)
			cred := newCredential()
			if tt.setup != nil {
				tt.setup(f, cred)
			}
			name := tt.name2
			if name == "" {
				name = "billing-api"
			}
			p, err := azkv.NewFromURL(f.srv.URL, cred, name, append([]azkv.Option{azkv.WithClientOptions(f.clientOptions())}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Retrieve(context.Background())
			if err == nil {
				t.Fatalf("Retrieve = %v, nil; want an error", got)
			}
			var e *azkv.Error
			if !errors.As(err, &e) || e.Name != name || e.Op != "Retrieve" {
				t.Errorf("error %v is not an *azkv.Error for Retrieve of %q", err, name)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("error does not match %v: %v", target, err)
				}
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "azkv: Retrieve secret "+`"`+name+`"`) || !strings.Contains(msg, " in 127.0.0.1:") {
				t.Errorf("error does not start with the package, the call, the secret and the vault: %v", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q: %v", w, msg)
				}
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, "invalid character") {
				t.Errorf("error is not one line, or carries the JSON decoder's text: %q", msg)
			}
			if n := f.Reads(name); n != tt.reads {
				t.Errorf("authorized reads = %d, want %d", n, tt.reads)
			}
			assertNoSecret(t, []string{key, value}, err, e, p)
		})
	}
}

// The SDK's error stays reachable with errors.As, for callers who branch
// on it, and the error reaches the application through a rekey Client.
func TestErrorsThroughClient(t *testing.T) {
	f := newFakeKV(t)
	p := newProvider(t, f, "missing")
	c, err := rekey.NewClient("http://127.0.0.1:1", rekey.WithCredentials(p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = get(context.Background(), c)
	var re *azcore.ResponseError
	if !errors.Is(err, azkv.ErrNotFound) || !errors.Is(err, credentials.ErrNoCredentials) || !errors.As(err, &re) || re.ErrorCode != "SecretNotFound" {
		t.Fatalf("request = %v; want an error matching azkv.ErrNotFound, credentials.ErrNoCredentials and *azcore.ResponseError", err)
	}
	if n := f.Reads("missing"); n != 1 {
		t.Errorf("reads = %d, want 1: a missing secret is not retried", n)
	}
}

// A short burst of throttling is absorbed by the SDK's retry policy, each
// attempt counted at the vault; the Provider does not retry on top.
func TestThrottlingRetriedBySDK(t *testing.T) {
	f := newFakeKV(t)
	key := newKey()
	f.Set("s", key)
	f.Throttle(2, "0")
	p := newProvider(t, f, "s")
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != key {
		t.Fatalf("Retrieve = %v, %v; want the key after the SDK retried", got, err)
	}
	if n := f.Reads("s"); n != 3 {
		t.Errorf("reads = %d, want 3 (2 throttled, then success)", n)
	}
}

// A loopback (or custom) vault host with the challenge's resource checked,
// as the SDK does by default, fails with a hint naming the option.
func TestChallengeResourceVerification(t *testing.T) {
	f := newFakeKV(t)
	f.Set("s", newKey())
	p, err := azkv.NewFromURL(f.srv.URL, newCredential(), "s", azkv.WithClientOptions(&azsecrets.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: f.srv.Client(), Retry: policy.RetryOptions{RetryDelay: time.Millisecond}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "DisableChallengeResourceVerification") || !strings.Contains(err.Error(), "bearer challenge") {
		t.Fatalf("Retrieve error = %v; want one naming DisableChallengeResourceVerification", err)
	}
	if challenges, _, requests := f.Counts(); challenges != 1 || requests != 1 {
		t.Errorf("challenges %d, requests %d; want 1 and 1 (no token sent to a host the challenge does not name)", challenges, requests)
	}
}
