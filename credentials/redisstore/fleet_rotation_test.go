package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// Four processes share one account on an API where minting a key revokes
// the previous one. Each rotation must be answered by exactly one new key:
// a second mint would revoke the first and fail requests.
func TestFleetMintsOneKeyPerRotation(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	srv := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	t.Cleanup(srv.Close)

	ws := fleet(t, 4, srv, prefix, envLease+"=5s")
	// Every process works again, on the new key, before the next
	// rotation (rotator settles the fleet): one that a rotation overtook
	// between its refresh and its replay would have its key rejected on the
	// replay and, by design, stop refreshing for the RejectedKeyCooldown.
	rotate, _ := rotator(t, srv, ws)
	const rotations = 3
	for range rotations {
		rotate("rotating")
	}
	var ok int64
	for _, w := range ws {
		r := w.finish(t)
		if r.Failed != 0 {
			t.Errorf("worker %d: %d failed requests (of %d), e.g. %q", r.PID, r.Failed, r.OK+r.Failed, r.Errors)
		}
		ok += r.OK
	}
	st := srv.Stats()
	t.Logf("%d requests succeeded; server: %d accepted, %d rejected, %d keys minted", ok, st.Accepted, st.Rejections, st.KeysIssued)
	if st.KeysIssued != 1+rotations {
		t.Errorf("%d keys minted, want %d: one for the start and one per rotation", st.KeysIssued, 1+rotations)
	}
	if st.Rotations != rotations || st.Rejections == 0 {
		t.Errorf("server saw %d rotations and %d rejections: the test did not exercise a refresh", st.Rotations, st.Rejections)
	}
}

// The process that holds the lock hangs in its refresh and is killed. The
// others must take over within the lease, mint one key, and fail no
// request: they may wait, not fail.
func TestFleetSurvivesKilledLockHolder(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	srv := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	t.Cleanup(srv.Close)

	const lease = time.Second
	hang := prefix + ":hang"
	ws := fleet(t, 3, srv, prefix, envLease+"="+lease.String(), envHang+"="+hang)
	for _, w := range ws {
		w.next(t, "ready", 30*time.Second)
	}
	ctx := context.Background()
	gen := func() int64 {
		g, _ := strconv.ParseInt(rdb.HGet(ctx, prefix+":cred", "gen").Val(), 10, 64)
		return g
	}
	start := gen()
	if err := rdb.Set(ctx, hang, 1, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	srv.RotateAll()

	// Whichever process takes the lock hangs in the hook: find and kill it.
	var holder *worker
	deadline := time.After(10 * time.Second)
	for holder == nil {
		for _, w := range ws {
			select {
			case ev := <-w.events:
				if ev.Event != "holding" {
					t.Fatalf("worker %d: event %q before the holder was found", ev.PID, ev.Event)
				}
				holder = w
			default:
			}
		}
		select {
		case <-deadline:
			t.Fatal("no worker took the lock after the rotation")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := holder.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	testwait.Recv(t, holder.exited, testwait.Timeout, "the killed lock holder to exit")
	killed := time.Now()

	for gen() == start {
		// The lease bounds the takeover; the margin above it only stops a
		// run in which it never happens, and is wide enough for any machine.
		if time.Since(killed) > lease+30*time.Second {
			t.Fatalf("no new key %v after the holder was killed (lease %v)", time.Since(killed), lease)
		}
		time.Sleep(10 * time.Millisecond)
	}
	recovered := time.Since(killed)
	before := srv.Stats().Accepted
	waitAccepted(t, srv, before+50)

	var ok int64
	for _, w := range ws {
		if w == holder {
			continue
		}
		r := w.finish(t)
		if r.Failed != 0 {
			t.Errorf("survivor %d: %d failed requests (of %d), e.g. %q", r.PID, r.Failed, r.OK+r.Failed, r.Errors)
		}
		ok += r.OK
	}
	st := srv.Stats()
	t.Logf("new key %v after the kill; survivors: %d requests succeeded; server: %d keys minted", recovered, ok, st.KeysIssued)
	if st.KeysIssued != 2 {
		t.Errorf("%d keys minted, want 2: the first, and one by a survivor after the holder died", st.KeysIssued)
	}
}

// waitAccepted waits until the server has accepted n requests in all.
func waitAccepted(t *testing.T, srv *rekeytest.Server, n int64) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); srv.Stats().Accepted < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the fleet stopped working: %d requests accepted, want %d", srv.Stats().Accepted, n)
		}
	}
}
