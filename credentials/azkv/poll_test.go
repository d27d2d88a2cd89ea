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

// pollModes are the two ways a Provider polls: by listing the secret's
// versions (the default), and by one GET of the current version.
var pollModes = []struct {
	name  string
	opts  []azkv.Option
	byGet bool
}{
	{name: "by listing"},
	{name: "by GET", opts: []azkv.Option{azkv.WithPollByGet()}, byGet: true},
}

// What each poll costs at the vault, counted there: a poll by listing
// reads one page (up to 25 versions) and a value only when the newest
// version changed; a poll by GET reads the value every time, and no page.
func TestPoll(t *testing.T) {
	for _, mode := range pollModes {
		t.Run(mode.name, func(t *testing.T) {
			f := newFakeKV(t)
			key1, key2 := newKey(), newKey()
			f.Set("s", key1)
			p := newProvider(t, f, "s", append([]azkv.Option{azkv.WithPollInterval(time.Minute)}, mode.opts...)...)
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
				listGets    int // GETs of a value when polling by listing (by GET: always 1)
			}{
				{name: "unchanged", change: func() {}, wantKey: key1},
				{name: "operator sets a new version", change: func() { v2 = setSecret(t, op, "s", key2) }, wantChanged: true, wantKey: key2, listGets: 1},
				{name: "unchanged after the swap", change: func() {}, wantKey: key2},
				{name: "new version, same key", change: func() { setSecret(t, op, "s", key2) }, wantKey: key2, listGets: 1},
				{name: "unchanged after the same key", change: func() {}, wantKey: key2},
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
				}, wantChanged: true, wantKey: key2, wantExpiry: exp, listGets: 1},
				{name: "unchanged again", change: func() {}, wantKey: key2, wantExpiry: exp},
			}
			for _, st := range steps {
				st.change()
				reads, pages := f.Reads("s"), f.Pages("s")
				got, changed, err := p.Poll(ctx, cur)
				if err != nil {
					t.Fatalf("%s: Poll: %v", st.name, err)
				}
				if changed != st.wantChanged || got.Key != st.wantKey || !got.Expiry.Equal(st.wantExpiry) {
					t.Errorf("%s: Poll = %v (expiry %v), %v; want changed=%v, the expected key, expiry %v", st.name, got, got.Expiry, changed, st.wantChanged, st.wantExpiry)
				}
				wantGets, wantPages := st.listGets, 1
				if mode.byGet {
					wantGets, wantPages = 1, 0
				}
				if n := f.Reads("s") - reads; n != wantGets {
					t.Errorf("%s: %d GETs of the value, want %d", st.name, n, wantGets)
				}
				if n := f.Pages("s") - pages; n != wantPages {
					t.Errorf("%s: %d pages of versions listed, want %d", st.name, n, wantPages)
				}
				cur = got
			}
			want := 1 // read when it appeared
			if mode.byGet {
				want = 2 // and at the next poll, until it was replaced
			}
			if n := f.ReadsOf(v2); n != want {
				t.Errorf("the new version was read %d times, want %d", n, want)
			}
		})
	}
}

// A failed poll keeps the current key and says why, in both modes.
func TestPollErrors(t *testing.T) {
	tests := []struct {
		name   string
		byGet  bool // only when polling by GET
		setup  func(f *fakeKV, op *azsecrets.Client)
		is     error
		want   []string
		byList []string // also wanted when polling by listing
	}{
		{name: "new version disabled", byGet: true, setup: func(f *fakeKV, op *azsecrets.Client) {
			out, err := op.SetSecret(context.Background(), "s", azsecrets.SetSecretParameters{
				Value: to.Ptr(newKey()), SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil)
			if err != nil || out.ID == nil {
				f.t.Fatalf("SetSecret: %v", err)
			}
		}, is: azkv.ErrDisabled, want: []string{"Poll secret", "SecretDisabled", "--enabled true"}},
		{name: "access revoked", setup: func(f *fakeKV, _ *azsecrets.Client) { f.Deny("s", "ForbiddenByRbac") },
			is: azkv.ErrForbidden, want: []string{"Key Vault Secrets User", "403 Forbidden/ForbiddenByRbac"},
			byList: []string{"listing the secret's versions", "readMetadata/action"}},
		{name: "secret deleted", setup: func(f *fakeKV, _ *azsecrets.Client) { f.Delete("s") },
			is: azkv.ErrNotFound, want: []string{"az keyvault secret recover"}, byList: []string{"lists no version"}},
	}
	for _, mode := range pollModes {
		for _, tt := range tests {
			if tt.byGet && !mode.byGet {
				continue
			}
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				f := newFakeKV(t)
				key := newKey()
				f.Set("s", key)
				p := newProvider(t, f, "s", mode.opts...)
				ctx := context.Background()
				cur, err := p.Retrieve(ctx)
				if err != nil {
					t.Fatal(err)
				}
				tt.setup(f, f.client(t, newCredential()))
				got, changed, err := p.Poll(ctx, cur)
				var e *azkv.Error
				if !errors.Is(err, tt.is) || !errors.As(err, &e) || e.Op != "Poll" || changed || got.Key != key {
					t.Fatalf("Poll = %v, %v, %v; want the current key kept and an *azkv.Error of Poll matching %v", got, changed, err, tt.is)
				}
				want := tt.want
				if !mode.byGet {
					want = append(want, tt.byList...)
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not contain %q: %v", w, err)
					}
				}
				assertNoSecret(t, []string{key}, err)
			})
		}
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
