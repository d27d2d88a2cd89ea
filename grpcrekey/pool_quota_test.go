package grpcrekey_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// PoolOptions.FailoverOn lists HTTP statuses; a gRPC call's
// RESOURCE_EXHAUSTED counts as 429, as google/rpc/code.proto maps it, and
// nothing else counts. A member that gets it cools down for the status's
// google.rpc.RetryInfo delay (for Quarantine without one) and the call
// fails over; unlisted, or when every member is out of quota, the caller
// gets the server's answer as it was sent.
func TestPoolFailoverOnResourceExhausted(t *testing.T) {
	const quarantine = 45 * time.Second
	cases := []struct {
		name       string
		failoverOn []int
		delay      time.Duration // RetryInfo of the first key's answer; 0: none
		bothOut    bool          // the second key is out of quota too
		failover   bool
		cooldown   time.Duration
	}{
		{name: "429 listed: failover, cooldown from RetryInfo", failoverOn: []int{429}, delay: 7 * time.Second, failover: true, cooldown: 7 * time.Second},
		{name: "429 listed, no RetryInfo: cooldown is the Quarantine", failoverOn: []int{402, 429}, failover: true, cooldown: quarantine},
		{name: "not listed: the server's answer", delay: 7 * time.Second},
		{name: "402 listed: no gRPC code maps to it", failoverOn: []int{402}, delay: 7 * time.Second},
		{name: "every member out of quota: the last answer", failoverOn: []int{429}, delay: 7 * time.Second, bothOut: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newKeyServer(t, keyA, keyB)
			srv.outOfQuota(keyA, true, tc.delay)
			if tc.bothOut {
				srv.outOfQuota(keyB, true, tc.delay)
			}
			pool := credentials.NewPoolWith(credentials.PoolOptions{FailoverOn: tc.failoverOn, Quarantine: quarantine},
				credentials.Static(keyA), credentials.Static(keyB))
			client, _, log := poolClient(t, srv, pool)

			_, err := unaryCall(callCtx(t), client, "one")
			if tc.failover {
				if err != nil {
					t.Fatalf("call failed: %v; want it served by the second key", err)
				}
				cool := log.of(transport.EventMemberCooldown)
				if len(cool) != 1 || cool[0].Member != 0 || cool[0].MemberKey != credentials.Redact(keyA) || cool[0].StatusCode != 429 || cool[0].Cooldown != tc.cooldown {
					t.Errorf("cooldown events %+v; want one, member 0, status 429, %v", cool, tc.cooldown)
				}
				if f := log.of(transport.EventFailover); len(f) != 1 || f[0].Member != 1 || f[0].StatusCode != 429 {
					t.Errorf("failover events %+v; want one, to member 1, after a 429", f)
				}
				// The member cools down: the next call goes to the second key.
				if _, err := unaryCall(callCtx(t), client, "two"); err != nil {
					t.Fatal(err)
				}
				_, _, refusedA := srv.counts(keyA)
				acceptedB, _, _ := srv.counts(keyB)
				if refusedA != 1 || acceptedB != 2 {
					t.Errorf("first key refused %d calls, second accepted %d; want 1 and 2", refusedA, acceptedB)
				}
				return
			}
			if status.Code(err) != codes.ResourceExhausted || errors.Is(err, rekey.ErrInvalidAPIKey) {
				t.Fatalf("error %v: want the server's ResourceExhausted, not an invalid-key error", err)
			}
			var delay time.Duration
			for _, d := range status.Convert(err).Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					delay = ri.GetRetryDelay().AsDuration()
				}
			}
			if delay != tc.delay {
				t.Errorf("RetryInfo %v in the error; want the server's %v", delay, tc.delay)
			}
			acceptedB, _, refusedB := srv.counts(keyB)
			wantB := 0
			if tc.bothOut {
				wantB = 1
			}
			if acceptedB+refusedB != wantB {
				t.Errorf("%d calls with the second key; want %d", acceptedB+refusedB, wantB)
			}
			if n := len(log.of(transport.EventMemberCooldown)); tc.bothOut && n != 2 || !tc.bothOut && n != 0 {
				t.Errorf("%d cooldown events", n)
			}
			_, _, refresh := log.all()
			for _, ev := range refresh {
				if ev.Reason != credentials.ReasonInitial {
					t.Errorf("refresh event %v; want none but the first keys': a quota answer is not a rejection", ev)
				}
			}
		})
	}
}

// A RESOURCE_EXHAUSTED that grpc-go makes itself (here, a response larger
// than the call's receive limit: the server has already answered) is not
// the server's quota answer: it passes through, 429 listed or not, with no
// cooldown and no failover.
func TestPoolLocalResourceExhaustedPassesThrough(t *testing.T) {
	srv := newKeyServer(t, keyA, keyB)
	pool := credentials.NewPoolWith(credentials.PoolOptions{FailoverOn: []int{429}}, credentials.Static(keyA), credentials.Static(keyB))
	client, _, log := poolClient(t, srv, pool)
	_, err := client.UnaryCall(callCtx(t), &testgrpc.SimpleRequest{ResponseSize: 1024}, grpc.MaxCallRecvMsgSize(64))
	if status.Code(err) != codes.ResourceExhausted || !strings.HasPrefix(status.Convert(err).Message(), "grpc: ") {
		t.Fatalf("error %v: want grpc-go's own ResourceExhausted", err)
	}
	acceptedA, _, _ := srv.counts(keyA)
	acceptedB, _, _ := srv.counts(keyB)
	if acceptedA != 1 || acceptedB != 0 {
		t.Errorf("calls accepted with each key: %d and %d; want 1 and 0", acceptedA, acceptedB)
	}
	if k := log.kinds(); len(k) != 0 {
		t.Errorf("events %v; want none", k)
	}
}
