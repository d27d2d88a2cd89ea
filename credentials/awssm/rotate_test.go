package awssm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// The whole runbook in code: the API rejects the key, the store has nothing
// newer, so the Provider starts the secret's rotation, whose function mints
// a key at the API; the request is replayed with it.
func TestWithRotationEndToEnd(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeSM(t)
	key1 := srv.IssueKey().Key
	f.Create("prod/api", key1)
	var minted []string
	f.EnableRotation("prod/api", func() string {
		k := srv.IssueKey().Key
		minted = append(minted, k)
		return k
	})
	p, logs := newProvider(t, f, "prod/api", awssm.WithRotation(10*time.Second), awssm.WithPollInterval(0))
	c := apiClient(t, srv, p)
	ctx := context.Background()
	if err := get(ctx, c); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(key1)
	for i := 0; i < 20; i++ {
		if err := get(ctx, c); err != nil {
			t.Fatalf("request %d after the revocation: %v", i, err)
		}
	}
	if n := f.Calls("RotateSecret"); n != 1 {
		t.Errorf("RotateSecret calls = %d, want 1", n)
	}
	if st := srv.Stats(); st.Rejections != 1 {
		t.Errorf("the API rejected %d requests, want 1", st.Rejections)
	}
	if !strings.Contains(logs.String(), "started the secret's rotation") {
		t.Errorf("the rotation was not logged:\n%s", logs)
	}
	assertNoSecret(t, append(minted, key1), p, logs.String())
}

func TestWithRotationFailures(t *testing.T) {
	tests := []struct {
		name  string
		wait  time.Duration
		setup func(t *testing.T, f *fakeSM)
		is    error
		want  []string
	}{
		{name: "rotation not configured", setup: func(*testing.T, *fakeSM) {},
			is: awssm.ErrRotation, want: []string{"RotateSecret", "No Lambda rotation function", "rotation configuration"}},
		{name: "RotateSecret denied", setup: func(_ *testing.T, f *fakeSM) { f.Deny("RotateSecret") },
			is: awssm.ErrAccessDenied, want: []string{"grant the caller secretsmanager:RotateSecret"}},
		{name: "rotation never finishes", wait: 300 * time.Millisecond, setup: func(t *testing.T, f *fakeSM) {
			release := make(chan struct{})
			t.Cleanup(func() { close(release) }) // before the fake waits for its rotations
			f.EnableRotation("s", func() string { <-release; return newKey() })
		}, is: awssm.ErrRotation, want: []string{"still held the rejected key 300ms after", "rotation function's logs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			key := newKey()
			f.Create("s", key)
			tt.setup(t, f)
			p, logs := newProvider(t, f, "s", awssm.WithRotation(tt.wait))
			ctx := context.Background()
			cred, err := p.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Refresh(ctx, cred)
			if !errors.Is(err, tt.is) {
				t.Fatalf("Refresh error = %v; want one matching %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q: %v", w, err)
				}
			}
			if n := f.Calls("RotateSecret"); n != 1 {
				t.Errorf("RotateSecret calls = %d, want 1", n)
			}
			assertNoSecret(t, []string{key}, err, logs.String())
		})
	}
}

// A rotation that failed half way left an empty AWSPENDING version: the
// service refuses a new RotateSecret ("a previous rotation isn't complete")
// and reattempts the old one. The Provider waits for it instead of failing.
func TestWithRotationWaitsForRotationUnderWay(t *testing.T) {
	f := newFakeSM(t)
	old, fresh := newKey(), newKey()
	f.Create("s", old)
	f.EnableRotation("s", newKey)
	p, logs := newProvider(t, f, "s", awssm.WithRotation(10*time.Second))
	ctx := context.Background()
	cred, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.BeginRotation("s", nil)
	ctx, cancel := context.WithTimeout(ctx, testwait.Timeout)
	defer cancel()
	done := afterRotateSecret(ctx, f, func() {
		f.BeginRotation("s", &fresh) // the service's reattempt
		f.FinishRotation("s")
	})
	got, err := p.Refresh(ctx, cred)
	cancel()
	testwait.Recv(t, done, testwait.Timeout, "the fake's rotation to end")
	if err != nil || got.Key != fresh {
		t.Fatalf("Refresh = %v, %v; want the key of the reattempted rotation", got, err)
	}
	if !strings.Contains(logs.String(), "rotation already under way") {
		t.Errorf("waiting for the rotation under way was not logged:\n%s", logs)
	}
}

// An AWSPENDING key offered before its rotation finished is rejected; the
// next refresh waits for the rotation under way, and once it finishes with
// that very key, says so at once instead of waiting out the bound.
func TestWithRotationPendingOfferedTooEarly(t *testing.T) {
	f := newFakeSM(t)
	old, pending := newKey(), newKey()
	f.Create("s", old)
	f.EnableRotation("s", newKey)
	p, _ := newProvider(t, f, "s", awssm.WithRotation(time.Minute))
	ctx := context.Background()
	cred, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.BeginRotation("s", &pending)
	if cred, err = p.Refresh(ctx, cred); err != nil || cred.Key != pending {
		t.Fatalf("Refresh = %v, %v; want the AWSPENDING key", cred, err)
	}
	// Bounded: a Provider that offers the AWSPENDING key again never calls
	// RotateSecret, and must fail this test in seconds, not hang it.
	ctx, cancel := context.WithTimeout(ctx, testwait.Timeout)
	defer cancel()
	done := afterRotateSecret(ctx, f, func() { f.FinishRotation("s") })
	_, err = p.Refresh(ctx, cred) // the API rejected the AWSPENDING key
	cancel()
	testwait.Recv(t, done, testwait.Timeout, "the fake's rotation to end")
	if !errors.Is(err, credentials.ErrSameKey) || !strings.Contains(err.Error(), "rotation finished") {
		t.Fatalf("Refresh error = %v; want ErrSameKey saying the rotation finished with the rejected key", err)
	}
	if n := f.Calls("RotateSecret"); n != 1 {
		t.Errorf("RotateSecret calls = %d, want 1 (refused: the rotation was under way)", n)
	}
}

// afterRotateSecret calls then, on a goroutine of its own, once the fake
// has answered a RotateSecret request, unless ctx ends first. The returned
// channel is closed when the goroutine ends: cancel ctx, then wait for it.
func afterRotateSecret(ctx context.Context, f *fakeSM, then func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f.Calls("RotateSecret") == 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		then()
	}()
	return done
}
