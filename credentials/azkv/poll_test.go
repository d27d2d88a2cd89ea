package azkv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey/credentials/azkv"
)

// Poll costs exactly one GET of the secret, whether or not the version
// changed: the answer that says it changed carries the new key.
func TestPoll(t *testing.T) {
	f := newFakeKV(t)
	key1, key2 := newKey(), newKey()
	f.Set("s", key1)
	p := newProvider(t, f, "s", azkv.WithPollInterval(time.Minute))
	if p.PollInterval() != time.Minute {
		t.Fatalf("PollInterval = %v, want 1m", p.PollInterval())
	}
	ctx := context.Background()
	cur, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	op := f.client(t, newCredential())
	var v2 string
	exp := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	steps := []struct {
		name        string
		change      func()
		wantChanged bool
		wantKey     string
		wantExpiry  time.Time
	}{
		{name: "unchanged", change: func() {}, wantKey: key1},
		{name: "operator sets a new version", change: func() { v2 = setSecret(t, op, "s", key2) }, wantChanged: true, wantKey: key2},
		{name: "unchanged after the swap", change: func() {}, wantKey: key2},
		{name: "new version, same key", change: func() { setSecret(t, op, "s", key2) }, wantKey: key2},
		{name: "exp set on the current version", change: func() {
			cur, err := op.GetSecret(ctx, "s", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := op.UpdateSecretProperties(ctx, "s", cur.ID.Version(), azsecrets.UpdateSecretPropertiesParameters{
				SecretAttributes: &azsecrets.SecretAttributes{Expires: &exp},
			}, nil); err != nil {
				t.Fatal(err)
			}
		}, wantChanged: true, wantKey: key2, wantExpiry: exp},
		{name: "unchanged again", change: func() {}, wantKey: key2, wantExpiry: exp},
	}
	for _, st := range steps {
		st.change()
		before := f.Reads("s")
		got, changed, err := p.Poll(ctx, cur)
		if err != nil {
			t.Fatalf("%s: Poll: %v", st.name, err)
		}
		if changed != st.wantChanged || got.Key != st.wantKey || !got.Expiry.Equal(st.wantExpiry) {
			t.Errorf("%s: Poll = %v (expiry %v), %v; want changed=%v, the expected key, expiry %v", st.name, got, got.Expiry, changed, st.wantChanged, st.wantExpiry)
		}
		if n := f.Reads("s") - before; n != 1 {
			t.Errorf("%s: %d reads, want 1", st.name, n)
		}
		cur = got
	}
	if f.ReadsOf(v2) == 0 {
		t.Errorf("the new version was never read")
	}
}

// A failed poll keeps the current key and says why.
func TestPollErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeKV, op *azsecrets.Client)
		is    error
		want  []string
	}{
		{name: "new version disabled", setup: func(f *fakeKV, op *azsecrets.Client) {
			out, err := op.SetSecret(context.Background(), "s", azsecrets.SetSecretParameters{
				Value: to.Ptr(newKey()), SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil)
			if err != nil || out.ID == nil {
				f.t.Fatalf("SetSecret: %v", err)
			}
		}, is: azkv.ErrDisabled, want: []string{"Poll secret", "SecretDisabled", "--enabled true"}},
		{name: "access revoked", setup: func(f *fakeKV, _ *azsecrets.Client) { f.Deny("s", "ForbiddenByRbac") },
			is: azkv.ErrForbidden, want: []string{"Key Vault Secrets User"}},
		{name: "secret deleted", setup: func(f *fakeKV, _ *azsecrets.Client) { f.Delete("s") },
			is: azkv.ErrNotFound, want: []string{"az keyvault secret recover"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(t)
			key := newKey()
			f.Set("s", key)
			p := newProvider(t, f, "s")
			ctx := context.Background()
			cur, err := p.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(f, f.client(t, newCredential()))
			got, changed, err := p.Poll(ctx, cur)
			if !errors.Is(err, tt.is) || changed || got.Key != key {
				t.Fatalf("Poll = %v, %v, %v; want the current key kept and an error matching %v", got, changed, err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q: %v", w, err)
				}
			}
			assertNoSecret(t, []string{key}, err)
		})
	}
}

func TestPollIntervalOff(t *testing.T) {
	f := newFakeKV(t)
	for _, d := range []time.Duration{0, -time.Second} {
		p := newProvider(t, f, "s", azkv.WithPollInterval(d))
		if p.PollInterval() > 0 {
			t.Errorf("WithPollInterval(%v): PollInterval = %v, want polling off", d, p.PollInterval())
		}
	}
}
