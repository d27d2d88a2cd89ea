package grpcrekey_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/transport"
)

// Two keys, the primary revoked while 8 workers make unary calls: no call
// fails, and none waits for the primary's refresh, which its source holds
// back until 400 calls have succeeded after the revocation (a call that
// waited for it would hold its worker until then). The primary is
// refreshed once, each worker meets at most one rejection, each rejection
// fails over to the second key, and every call after that carries it.
func TestPoolPrimaryRevokedUnderLoad(t *testing.T) {
	const workers = 8
	srv := newKeyServer(t, keyA, keyB)
	a, b := gated(keyA), newSource(keyB)
	client, _, log := poolClient(t, srv, credentials.NewPool(a, b))
	if _, err := unaryCall(callCtx(t), client, "warm-up"); err != nil {
		t.Fatal(err)
	}

	l := startLoad(t, client, workers)
	t.Cleanup(a.open) // before the load ends, if the test fails first
	waitFor(t, "200 calls before the revocation", func() bool { return l.calls.Load() >= 200 })
	srv.set(keyA, false) // the primary is revoked under load
	atRevoke := l.calls.Load()
	waitFor(t, "400 calls after the revocation, the primary's refresh held back", func() bool {
		return l.calls.Load() >= atRevoke+400
	})
	a.open() // the refresh reads the same key: the primary is quarantined
	log.await(t, credentials.MemberQuarantined, 0)
	l.end()

	if failed := l.failures(); len(failed) != 0 {
		t.Fatalf("%d of %d calls failed, want 0; first: %v", len(failed), l.calls.Load(), failed[0])
	}
	if n := a.reads.Load(); n != 2 {
		t.Errorf("primary's source read %d times, want 2 (its first key and 1 refresh)", n)
	}
	if n := b.reads.Load(); n != 1 {
		t.Errorf("second source read %d times, want 1", n)
	}
	_, rejectedA, _ := srv.counts(keyA)
	if rejectedA < 1 || rejectedA > workers {
		t.Errorf("the revoked key was sent %d times after the revocation, want 1 to %d (at most one per worker)", rejectedA, workers)
	}
	rejections, failovers := log.of(transport.EventKeyRejected), log.of(transport.EventFailover)
	if len(rejections) != rejectedA || len(failovers) != rejectedA {
		t.Errorf("%d rejection and %d failover events, want %d of each", len(rejections), len(failovers), rejectedA)
	}
	for _, ev := range rejections {
		if !ev.Pooled || ev.Member != 0 || ev.MemberKey != credentials.Redact(keyA) || ev.StatusCode != 401 {
			t.Errorf("rejection event %+v: want Pooled, member 0 (%s), status 401", ev, credentials.Redact(keyA))
		}
	}
	for _, ev := range failovers {
		if !ev.Pooled || ev.Member != 1 || ev.MemberKey != credentials.Redact(keyB) {
			t.Errorf("failover event %+v: want Pooled, member 1 (%s)", ev, credentials.Redact(keyB))
		}
	}
	if n := len(log.of(transport.EventReplayed)); n != 0 {
		t.Errorf("%d calls replayed after a refresh, want 0: every one failed over at once", n)
	}

	// Every call now carries the second key.
	acceptedB, _, _ := srv.counts(keyB)
	for i := range 50 {
		if _, err := unaryCall(callCtx(t), client, fmt.Sprint("after ", i)); err != nil {
			t.Fatal(err)
		}
	}
	nowB, _, _ := srv.counts(keyB)
	accA, nowRejectedA, _ := srv.counts(keyA)
	if nowB-acceptedB != 50 || nowRejectedA != rejectedA {
		t.Errorf("after the failover: %d of 50 calls carried the second key, %d more carried the revoked one", nowB-acceptedB, nowRejectedA-rejectedA)
	}
	t.Logf("%d calls, 0 failed; the revoked key rejected %d times (%d workers), then never sent; primary's source read %d times; %d calls served by the primary before the revocation",
		l.calls.Load()+50, rejectedA, workers, a.reads.Load(), accA)
}

// mintMember is a member's own refresh hook that mints a key the server
// takes, counting its calls.
func mintMember(srv *keyServer, member int, calls *atomic.Int64) credentials.RefreshFunc {
	return func(context.Context, credentials.Credential) (credentials.Credential, error) {
		n := calls.Add(1)
		key := fmt.Sprintf("rk_test_new%d_%020d", member, n)
		srv.set(key, true)
		return credentials.Credential{Key: key}, nil
	}
}

// 1,000 calls at once, every member's key revoked: the server holds the
// first member's 1,000 rejections until all have arrived and answers them
// together. Each member is refreshed once, and with members that can mint a
// new key no call fails.
func TestPoolConcurrentRejectionsRefreshEachMemberOnce(t *testing.T) {
	const calls = 1000
	srv := newKeyServer(t) // no key valid: all three revoked
	srv.holdRejections(keyA, calls)
	var refreshes [3]atomic.Int64
	var members []credentials.Provider
	for i, k := range []string{keyA, keyB, keyC} {
		members = append(members, &credentials.Cache{Provider: credentials.Static(k), Refresh: mintMember(srv, i, &refreshes[i])})
	}
	client, _, log := poolClient(t, srv, credentials.NewPool(members...))

	ctx := callCtx(t)
	start := make(chan struct{})
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := fmt.Sprint(i)
			got, err := unaryCall(ctx, client, body)
			if err == nil && got != body {
				err = fmt.Errorf("answer %q for %q", got, body)
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	close(start)
	testwait.Group(t, &wg, time.Minute, "the calls")

	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d calls failed, want 0; first: %v", n, calls, firstErr.Load())
	}
	for i := range refreshes {
		if n := refreshes[i].Load(); n != 1 {
			t.Errorf("member %d refreshed %d times, want 1", i, n)
		}
	}
	_, ra, _ := srv.counts(keyA)
	_, rb, _ := srv.counts(keyB)
	_, rc, _ := srv.counts(keyC)
	if ra != calls || !srv.heldAtOnce() {
		t.Errorf("the first key was rejected %d times (held until all had arrived: %v), want %d, all at once", ra, srv.heldAtOnce(), calls)
	}
	if n := len(log.of(transport.EventKeyRejected)); n != ra+rb+rc {
		t.Errorf("%d rejection events, want %d", n, ra+rb+rc)
	}
	t.Logf("%d concurrent calls: rejections %d/%d/%d of the three revoked keys, %d failovers, 1 refresh per member, 0 failed",
		calls, ra, rb, rc, len(log.of(transport.EventFailover)))
}

// Every member revoked, and no source has a new key: each call gets the
// typed error, which keeps the server's gRPC status (Unauthenticated, its
// details intact) and names each member (redacted key, status, why it has
// no new key); each member's source is read once more, however many calls
// failed, and each call was sent with each member once.
func TestPoolAllMembersRevoked(t *testing.T) {
	const calls = 200
	srv := newKeyServer(t) // takes no key
	a, b := newSource(keyA), newSource(keyB)
	client, _, log := poolClient(t, srv, credentials.NewPool(a, b))

	ctx := callCtx(t)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = unaryCall(ctx, client, fmt.Sprint(i))
		}()
	}
	testwait.Group(t, &wg, time.Minute, "the calls")
	for _, err := range errs {
		checkAllRevoked(t, err)
	}
	if a.reads.Load() != 2 || b.reads.Load() != 2 {
		t.Errorf("sources read %d and %d times, want 2 each (first key, one refresh)", a.reads.Load(), b.reads.Load())
	}
	_, ra, _ := srv.counts(keyA)
	_, rb, _ := srv.counts(keyB)
	if ra+rb > 2*calls {
		t.Errorf("%d calls sent %d times, want at most once per member", calls, ra+rb)
	}
	if n := len(log.of(transport.EventFailover)); n == 0 {
		t.Error("no failover event: the calls did not move to the second key at once")
	}

	// One more, alone: it is sent with the first member that holds a key
	// (both are out), and the error lists both members.
	_, err := unaryCall(ctx, client, "last")
	checkAllRevoked(t, err)
	var poolErr *rekey.PoolError
	errors.As(err, &poolErr)
	if len(poolErr.Members) != 2 {
		t.Fatalf("pool error lists %d members, want 2: %v", len(poolErr.Members), err)
	}
	for i, want := range []string{keyA, keyB} {
		m := poolErr.Members[i]
		var q *credentials.QuarantineError
		if m.Index != i || m.Key != credentials.Redact(want) || !errors.As(m.Err, &q) {
			t.Errorf("member %d: %+v; want index %d, key %s, quarantined", i, m, i, credentials.Redact(want))
		}
	}
	if m := poolErr.Members[0]; m.StatusCode != 401 {
		t.Errorf("member 0: status %d, want 401 (the call was sent with it)", m.StatusCode)
	}
	if a.reads.Load() != 2 || b.reads.Load() != 2 {
		t.Errorf("sources read %d and %d times after one more call, want still 2 each", a.reads.Load(), b.reads.Load())
	}
	t.Logf("error: %v", err)
}

// checkAllRevoked checks the error of a call that no member could serve.
func checkAllRevoked(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, rekey.ErrRefreshFailed) {
		t.Fatalf("error %v: want ErrInvalidAPIKey and ErrRefreshFailed", err)
	}
	var rkErr *grpcrekey.Error
	var poolErr *rekey.PoolError
	if !errors.As(err, &rkErr) || !errors.As(err, &poolErr) {
		t.Fatalf("error %v: want a *grpcrekey.Error and a *rekey.PoolError", err)
	}
	if !errors.Is(err, credentials.ErrSameKey) {
		t.Errorf("error %v: want the members' cause, ErrSameKey, to show through", err)
	}
	// The members the call was sent with come first: a call made while the
	// first was out already was sent with the second alone.
	text := err.Error()
	if !strings.Contains(text, "no key of the pool could serve the request: [") || !strings.Contains(text, "[0] "+credentials.Redact(keyA)) || !strings.Contains(text, "[1] "+credentials.Redact(keyB)) {
		t.Errorf("error %q does not list both members", err)
	}
	st := status.Convert(err)
	if st.Code() != codes.Unauthenticated || st.Message() != "API key not valid. Please pass a valid API key." {
		t.Errorf("status %v %q: want the server's Unauthenticated and its message", st.Code(), st.Message())
	}
	var reason, requestID string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RequestInfo:
			requestID = d.GetRequestId()
		}
	}
	if reason != "API_KEY_INVALID" || !strings.HasPrefix(requestID, "req-") {
		t.Errorf("status details: reason %q, request ID %q; want the server's ErrorInfo and RequestInfo", reason, requestID)
	}
}

// TestNewWithPool: New takes a Pool and refuses what does not combine with
// one, saying what to do.
func TestNewWithPool(t *testing.T) {
	refresh := func(context.Context, credentials.Credential) (credentials.Credential, error) {
		return credentials.Credential{}, nil
	}
	cases := []struct {
		name string
		p    *credentials.Pool
		opts []grpcrekey.Option
		want string
	}{
		{name: "a pool", p: credentials.NewPool(credentials.Static(keyA), credentials.Static(keyB))},
		{name: "nil pool", want: "make one with credentials.NewPool"},
		{name: "pool and refresh", p: credentials.NewPool(credentials.Static(keyA)), opts: []grpcrekey.Option{grpcrekey.WithRefresh(refresh)},
			want: "give a member its own refresh with a *credentials.Cache"},
		{name: "bad pool", p: credentials.NewPool(), want: "NewPool got no providers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.p != nil {
				defer tc.p.Close()
			}
			rk, err := grpcrekey.New(tc.p, tc.opts...)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				rk.Close()
				return
			}
			if err == nil {
				rk.Close()
				t.Fatal("New succeeded; want an error")
			}
			if !strings.HasPrefix(err.Error(), "grpcrekey: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q; want the package prefix and %q", err, tc.want)
			}
		})
	}
}
