package azkv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
)

// pollCounts polls once and returns the result with the pages listed and
// the values read at the vault during that poll.
func pollCounts(t *testing.T, f *fakeKV, p *azkv.Provider, name string, cur credentials.Credential) (got credentials.Credential, changed bool, pages, gets int, err error) {
	t.Helper()
	pages0, gets0 := f.Pages(name), f.Reads(name)
	got, changed, err = p.Poll(context.Background(), cur)
	return got, changed, f.Pages(name) - pages0, f.Reads(name) - gets0, err
}

// A secret with 60 versions, listed in an order that is not their
// creation order, is listed in ceil(60/25) = 3 pages at every poll. The
// newest version is found wherever it is listed; while it does not change,
// no value is read; a 61st version is read once.
func TestPollPagesThroughManyVersions(t *testing.T) {
	f := newFakeKV(t)
	var key, newest string
	for range 60 {
		key = newKey()
		newest = f.Set("s", key)
	}
	order := f.ListOrder("s")
	if len(order) != 60 || order[len(order)-1] == newest {
		t.Fatalf("the fake lists the newest version last (%d versions): the test cannot tell a sort from the listing order", len(order))
	}
	p := newProvider(t, f, "s")
	cur, err := p.Retrieve(context.Background())
	if err != nil || cur.Key != key {
		t.Fatalf("Retrieve = %v, %v", cur, err)
	}
	for i := range 2 {
		got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
		if err != nil || changed || got.Key != key {
			t.Fatalf("poll %d = %v, %v, %v; want the key unchanged", i, got, changed, err)
		}
		if pages != 3 || gets != 0 {
			t.Errorf("poll %d: %d pages, %d GETs of a value; want 3 pages and no GET", i, pages, gets)
		}
	}

	key61 := newKey()
	v61 := setSecret(t, f.client(t, newCredential()), "s", key61)
	got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
	if err != nil || !changed || got.Key != key61 {
		t.Fatalf("poll after version 61 = %v, %v, %v; want the new key", got, changed, err)
	}
	if pages != 3 || gets != 1 || f.ReadsOf(v61) != 1 {
		t.Errorf("%d pages, %d GETs (version 61 read %d times); want 3 pages and one GET of version 61", pages, gets, f.ReadsOf(v61))
	}
}

// A newest version that is disabled, expired or not valid yet is skipped:
// the poll finds the version in use unchanged and reads nothing. Once the
// operator enables it, the next poll reads it once. With WithoutExpiry, an
// expired version is usable.
func TestPollSkipsUnusableNewest(t *testing.T) {
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tests := []struct {
		name        string
		opts        []azkv.Option
		attrs       azsecrets.SecretAttributes
		wantChanged bool
	}{
		{name: "disabled", attrs: azsecrets.SecretAttributes{Enabled: to.Ptr(false)}},
		{name: "expired", attrs: azsecrets.SecretAttributes{Expires: &past}},
		{name: "not valid yet", attrs: azsecrets.SecretAttributes{NotBefore: &future}},
		{name: "expired, exp ignored", opts: []azkv.Option{azkv.WithoutExpiry()}, attrs: azsecrets.SecretAttributes{Expires: &past}, wantChanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(t)
			key1, key2 := newKey(), newKey()
			f.Set("s", key1)
			p := newProvider(t, f, "s", tt.opts...)
			ctx := context.Background()
			cur, err := p.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			op := f.client(t, newCredential())
			attrs := tt.attrs
			out, err := op.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: &key2, SecretAttributes: &attrs}, nil)
			if err != nil {
				t.Fatalf("SetSecret: %v", err)
			}
			v2 := out.ID.Version()
			got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			wantKey, wantGets := key1, 0
			if tt.wantChanged {
				wantKey, wantGets = key2, 1
			}
			if changed != tt.wantChanged || got.Key != wantKey || pages != 1 || gets != wantGets {
				t.Fatalf("Poll = %v, changed %v, %d pages, %d GETs; want changed=%v, 1 page, %d GETs", got, changed, pages, gets, tt.wantChanged, wantGets)
			}
			if tt.name != "disabled" {
				return
			}
			// The operator enables the staged version.
			if _, err := op.UpdateSecretProperties(ctx, "s", v2, azsecrets.UpdateSecretPropertiesParameters{
				SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true)}}, nil); err != nil {
				t.Fatal(err)
			}
			got, changed, pages, gets, err = pollCounts(t, f, p, "s", cur)
			if err != nil || !changed || got.Key != key2 || pages != 1 || gets != 1 || f.ReadsOf(v2) != 1 {
				t.Fatalf("Poll after enabling = %v, %v, %v, %d pages, %d GETs; want the new key, 1 page, 1 GET", got, changed, err, pages, gets)
			}
		})
	}
}

// Disabling the version in use rolls back: the next poll reads the newest
// usable version before it, once.
func TestPollRollsBackFromDisabledVersion(t *testing.T) {
	f := newFakeKV(t)
	key1, key2 := newKey(), newKey()
	v1 := f.Set("s", key1)
	v2 := f.Set("s", key2)
	p := newProvider(t, f, "s")
	ctx := context.Background()
	cur, err := p.Retrieve(ctx)
	if err != nil || cur.Key != key2 {
		t.Fatalf("Retrieve = %v, %v", cur, err)
	}
	if _, err := f.client(t, newCredential()).UpdateSecretProperties(ctx, "s", v2, azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatal(err)
	}
	got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
	if err != nil || !changed || got.Key != key1 || pages != 1 || gets != 1 || f.ReadsOf(v1) != 1 {
		t.Fatalf("Poll = %v, %v, %v, %d pages, %d GETs; want the previous version's key, 1 page, 1 GET of it", got, changed, err, pages, gets)
	}
}

// A version's value never changes, but its properties can: an operator
// retags the version in use to name another JSON field. The listing shows
// the change, and the poll reads the version once.
func TestPollSeesPropertiesOfTheVersionInUse(t *testing.T) {
	f := newFakeKV(t)
	key1, key2 := newKey(), newKey()
	id := f.Set("s", `{"old":"`+key1+`","new":"`+key2+`"}`, func(v *kvVersion) {
		v.contentType, v.tags = "application/json", map[string]string{"rekey-field": "old"}
	})
	p := newProvider(t, f, "s", azkv.WithFieldTag("rekey-field"))
	ctx := context.Background()
	cur, err := p.Retrieve(ctx)
	if err != nil || cur.Key != key1 {
		t.Fatalf("Retrieve = %v, %v", cur, err)
	}
	if _, err := f.client(t, newCredential()).UpdateSecretProperties(ctx, "s", id, azsecrets.UpdateSecretPropertiesParameters{
		Tags: map[string]*string{"rekey-field": to.Ptr("new")}}, nil); err != nil {
		t.Fatal(err)
	}
	got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
	if err != nil || !changed || got.Key != key2 || pages != 1 || gets != 1 {
		t.Fatalf("Poll = %v, %v, %v, %d pages, %d GETs; want the key of the new field, 1 page, 1 GET", got, changed, err, pages, gets)
	}
	got, changed, _, gets, err = pollCounts(t, f, p, "s", got)
	if err != nil || changed || gets != 0 {
		t.Fatalf("next Poll = %v, %v, %v, %d GETs; want unchanged, no GET", got, changed, err, gets)
	}
}

// Two versions created in the same second (Key Vault's times are whole
// seconds) cannot be ordered by the listing: the one the Provider holds is
// kept, with no read, although the other has the greater ID.
func TestPollTieKeepsHeldVersion(t *testing.T) {
	f := newFakeKV(t)
	same := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(id string) func(*kvVersion) {
		return func(v *kvVersion) { v.id, v.created, v.updated = id, same, same }
	}
	key1, key2 := newKey(), newKey()
	f.Set("s", key1, at("ffffffffffffffffffffffffffffffff"))
	f.Set("s", key2, at("00000000000000000000000000000002")) // Key Vault's current version: set last
	p := newProvider(t, f, "s")
	cur, err := p.Retrieve(context.Background())
	if err != nil || cur.Key != key2 {
		t.Fatalf("Retrieve = %v, %v; want the current version's key", cur, err)
	}
	got, changed, _, gets, err := pollCounts(t, f, p, "s", cur)
	if err != nil || changed || got.Key != key2 || gets != 0 {
		t.Fatalf("Poll = %v, %v, %v, %d GETs; want the held version kept, no GET", got, changed, err, gets)
	}
}

// Errors of a poll by listing keep the current key, are typed, say what to
// do, and never contain the secret.
func TestPollListErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fakeKV, op *azsecrets.Client)
		is        error
		want      []string
		wantPages int
	}{
		{name: "list denied by Azure RBAC", setup: func(f *fakeKV, _ *azsecrets.Client) { f.DenyList("s", "ForbiddenByRbac") },
			is: azkv.ErrForbidden, wantPages: 1,
			want: []string{"listing the secret's versions", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", `az role assignment create --role "Key Vault Secrets User"`, "azkv.WithPollByGet", "403 Forbidden/ForbiddenByRbac"}},
		{name: "list denied by an access policy", setup: func(f *fakeKV, _ *azsecrets.Client) { f.DenyList("s", "AccessDenied") },
			is: azkv.ErrForbidden, wantPages: 1,
			want: []string{"does not have secrets list permission", "List secret permission", "--secret-permissions get list", "azkv.WithPollByGet"}},
		{name: "throttled", setup: func(f *fakeKV, _ *azsecrets.Client) { f.Throttle(100, "0") },
			is: azkv.ErrThrottled, wantPages: 4, // the first request and the SDK's 3 retries
			want: []string{"429 Throttled", "Retry-After: 0", "one request per 25 versions", "azkv.WithPollByGet"}},
		{name: "secret deleted", setup: func(f *fakeKV, _ *azsecrets.Client) { f.Delete("s") },
			is: azkv.ErrNotFound, wantPages: 1, want: []string{"lists no version", "az keyvault secret recover"}},
		{name: "every version disabled", setup: func(f *fakeKV, op *azsecrets.Client) {
			ids := f.ListOrder("s")
			if _, err := op.UpdateSecretProperties(context.Background(), "s", ids[0], azsecrets.UpdateSecretPropertiesParameters{
				SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
				f.t.Fatal(err)
			}
		}, is: azkv.ErrDisabled, wantPages: 1, want: []string{"newest is disabled", "--enabled true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(t)
			key := newKey()
			f.Set("s", key)
			p := newProvider(t, f, "s")
			cur, err := p.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(f, f.client(t, newCredential()))
			got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
			var e *azkv.Error
			if !errors.Is(err, tt.is) || !errors.As(err, &e) || e.Op != "Poll" || changed || got.Key != key {
				t.Fatalf("Poll = %v, %v, %v; want the current key kept and an *azkv.Error of Poll matching %v", got, changed, err, tt.is)
			}
			if pages != tt.wantPages || gets != 0 {
				t.Errorf("%d pages, %d GETs of a value; want %d pages, no GET", pages, gets, tt.wantPages)
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q: %v", w, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			assertNoSecret(t, []string{key}, err, e, p)
		})
	}
}

// A listing that never ends (a server whose every page has a nextLink)
// stops at 200 pages with an error that says to poll by GET: a poll never
// hangs.
func TestPollListingIsBounded(t *testing.T) {
	f := newFakeKV(t)
	key := newKey()
	f.Set("s", key)
	p := newProvider(t, f, "s")
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.endless = true
	f.mu.Unlock()
	got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
	if err == nil || changed || got.Key != key || !strings.Contains(err.Error(), "more than 200 pages") || !strings.Contains(err.Error(), "azkv.WithPollByGet") {
		t.Fatalf("Poll = %v, %v, %v; want the key kept and an error naming the bound and WithPollByGet", got, changed, err)
	}
	if pages != 200 || gets != 0 {
		t.Errorf("%d pages, %d GETs; want 200 pages, no GET", pages, gets)
	}
	assertNoSecret(t, []string{key}, err)
}

// An identity without the List permission polls by GET: the listing is
// never asked for.
func TestPollByGetNeedsNoListPermission(t *testing.T) {
	f := newFakeKV(t)
	f.Set("s", newKey())
	f.DenyList("s", "AccessDenied")
	p := newProvider(t, f, "s", azkv.WithPollByGet())
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key2 := newKey()
	f.Set("s", key2)
	got, changed, pages, gets, err := pollCounts(t, f, p, "s", cur)
	if err != nil || !changed || got.Key != key2 || pages != 0 || gets != 1 {
		t.Fatalf("Poll = %v, %v, %v, %d pages, %d GETs; want the new key with one GET and no listing", got, changed, err, pages, gets)
	}
	if s := p.String(); !strings.Contains(s, "PollByGet: true") {
		t.Errorf("String = %s; want the poll mode", s)
	}
}
