package grpcrekey_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// The primary's key is revoked, then rotated in its source while the
// primary is quarantined: the first read after the quarantine brings it
// back, the hooks hear it quarantined then restored, and calls return to
// it. Its source is read three times in all (first key, refresh after the
// rejection, one read after the quarantine), however many calls are made
// meanwhile.
func TestPoolPrimaryRestoredAfterQuarantine(t *testing.T) {
	const quarantine = 50 * time.Millisecond
	keyA2 := keyA[:len(keyA)-1] + "2"
	srv := newKeyServer(t, keyB, keyA2) // keyA is revoked
	a := newSource(keyA)
	pool := credentials.NewPoolWith(credentials.PoolOptions{Quarantine: quarantine}, a, newSource(keyB))
	client, _, log := poolClient(t, srv, pool)

	if _, err := unaryCall(callCtx(t), client, "first"); err != nil {
		t.Fatalf("first call: %v; want it served by the second key", err)
	}
	q := log.await(t, credentials.MemberQuarantined, 0)
	if q.Key != credentials.Redact(keyA) || !errors.Is(q.Err, credentials.ErrSameKey) {
		t.Errorf("quarantine event: key %q, error %v; want %q and ErrSameKey", q.Key, q.Err, credentials.Redact(keyA))
	}
	a.key.Store(&keyA2) // rotated in its source

	calls := 1
	waitFor(t, "the primary back with its new key", func() bool {
		if _, err := unaryCall(callCtx(t), client, fmt.Sprint(calls)); err != nil {
			t.Fatal(err)
		}
		calls++
		n, _, _ := srv.counts(keyA2)
		return n > 0
	})
	r := log.await(t, credentials.MemberRestored, 0)
	if r.Key != credentials.Redact(keyA2) {
		t.Errorf("restored event: key %q, want %q", r.Key, credentials.Redact(keyA2))
	}
	if n := a.reads.Load(); n != 3 {
		t.Errorf("primary's source read %d times over %d calls, want 3: first key, refresh, one read after the quarantine", n, calls)
	}
	before, _, _ := srv.counts(keyA2)
	for i := range 20 {
		if _, err := unaryCall(callCtx(t), client, fmt.Sprint("back ", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _, _ := srv.counts(keyA2); n-before != 20 {
		t.Errorf("after its return the primary served %d of the next 20 calls, want all", n-before)
	}
	_, rejectedA, _ := srv.counts(keyA)
	if rejectedA != 1 {
		t.Errorf("the revoked key was sent %d times, want 1: a quarantined member serves no call", rejectedA)
	}
	t.Logf("primary back after %d calls, its source read 3 times", calls)
}

// With RoundRobin, calls take the members in turn, each with its own key.
func TestPoolRoundRobin(t *testing.T) {
	const calls = 300
	srv := newKeyServer(t, keyA, keyB, keyC)
	pool := credentials.NewPoolWith(credentials.PoolOptions{RoundRobin: true},
		credentials.Static(keyA), credentials.Static(keyB), credentials.Static(keyC))
	client, _, _ := poolClient(t, srv, pool)
	for i := range calls {
		if _, err := unaryCall(callCtx(t), client, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{keyA, keyB, keyC} {
		if n, _, _ := srv.counts(k); n != calls/3 {
			t.Errorf("%s served %d of %d calls, want %d", credentials.Redact(k), n, calls, calls/3)
		}
	}
}
