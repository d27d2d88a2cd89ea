package awssm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials/awssm"
)

// Poll checks the AWSCURRENT version ID with one DescribeSecret call and
// reads the secret value only when that version changed.
func TestPoll(t *testing.T) {
	f := newFakeSM(t)
	key1, key2, key3 := newKey(), newKey(), newKey()
	f.Create("s", key1)
	p, _ := newProvider(t, f, "s", awssm.WithPollInterval(time.Minute))
	if p.PollInterval() != time.Minute {
		t.Fatalf("PollInterval = %v, want 1m", p.PollInterval())
	}
	ctx := context.Background()
	cur, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		change      func()
		wantChanged bool
		wantKey     string
		wantGets    int // GetSecretValue calls made by this Poll
	}{
		{name: "unchanged", change: func() {}, wantKey: key1},
		{name: "rotation begun: AWSPENDING is not picked up", change: func() { f.BeginRotation("s", &key2) }, wantKey: key1},
		{name: "rotation finished", change: func() { f.FinishRotation("s") }, wantChanged: true, wantKey: key2, wantGets: 1},
		{name: "unchanged after the swap", change: func() {}, wantKey: key2},
		{name: "operator puts a key", change: func() { f.Put("s", key3) }, wantChanged: true, wantKey: key3, wantGets: 1},
		{name: "new version, same key", change: func() { f.Put("s", key3) }, wantKey: key3, wantGets: 1},
		{name: "unchanged again", change: func() {}, wantKey: key3},
	}
	for _, st := range steps {
		st.change()
		d, g := f.Calls("DescribeSecret"), f.Calls("GetSecretValue")
		got, changed, err := p.Poll(ctx, cur)
		if err != nil {
			t.Fatalf("%s: Poll: %v", st.name, err)
		}
		if changed != st.wantChanged || got.Key != st.wantKey {
			t.Errorf("%s: Poll = %v, %v; want changed=%v and the expected key", st.name, got, changed, st.wantChanged)
		}
		if n := f.Calls("DescribeSecret") - d; n != 1 {
			t.Errorf("%s: %d DescribeSecret calls, want 1", st.name, n)
		}
		if n := f.Calls("GetSecretValue") - g; n != st.wantGets {
			t.Errorf("%s: %d GetSecretValue calls, want %d", st.name, n, st.wantGets)
		}
		cur = got
	}
}

// After a refresh offered a rotation's AWSPENDING key, the rotation's end
// (AWSCURRENT moving to that version) is no change for Poll.
func TestPollAfterPendingWasOffered(t *testing.T) {
	f := newFakeSM(t)
	key1, key2 := newKey(), newKey()
	f.Create("s", key1)
	p, _ := newProvider(t, f, "s")
	ctx := context.Background()
	cur, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.BeginRotation("s", &key2)
	if cur, err = p.Refresh(ctx, cur); err != nil || cur.Key != key2 {
		t.Fatalf("Refresh = %v, %v; want the AWSPENDING key", cur, err)
	}
	f.FinishRotation("s")
	got, changed, err := p.Poll(ctx, cur)
	if err != nil || changed || got.Key != key2 {
		t.Fatalf("Poll = %v, %v, %v; want no change", got, changed, err)
	}
	g := f.Calls("GetSecretValue")
	if _, changed, err = p.Poll(ctx, cur); err != nil || changed || f.Calls("GetSecretValue") != g {
		t.Errorf("second Poll = %v, %v with %d reads of the value; want no change and none", changed, err, f.Calls("GetSecretValue")-g)
	}
}

func TestPollErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeSM)
		is    error
		want  []string
	}{
		{name: "scheduled for deletion", setup: func(f *fakeSM) { f.ScheduleDeletion("s", time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)) },
			is: awssm.ErrDeleted, want: []string{"DescribeSecret", "2030-05-06T07:08:09Z", "RestoreSecret"}},
		{name: "access denied", setup: func(f *fakeSM) { f.Deny("DescribeSecret") },
			is: awssm.ErrAccessDenied, want: []string{"grant the caller secretsmanager:DescribeSecret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			key := newKey()
			f.Create("s", key)
			p, _ := newProvider(t, f, "s")
			ctx := context.Background()
			cur, err := p.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(f)
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
	f := newFakeSM(t)
	for _, d := range []time.Duration{0, -time.Second} {
		p, _ := newProvider(t, f, "s", awssm.WithPollInterval(d))
		if p.PollInterval() > 0 {
			t.Errorf("WithPollInterval(%v): PollInterval = %v, want polling off", d, p.PollInterval())
		}
	}
}
