package grpcrekey_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// poolLog records the events a pool's Credentials report through their
// hooks, call events and member events alike, and signals member events on
// a channel.
type poolLog struct {
	mu      sync.Mutex
	events  []transport.Event
	members []credentials.PoolEvent
	refresh []credentials.RefreshEvent
	signal  chan credentials.PoolEvent
}

func newPoolLog() *poolLog { return &poolLog{signal: make(chan credentials.PoolEvent, 1024)} }

func (l *poolLog) hooks() rekey.Hooks {
	ev := func(e transport.Event) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.events = append(l.events, e)
	}
	member := func(e credentials.PoolEvent) {
		l.mu.Lock()
		l.members = append(l.members, e)
		l.mu.Unlock()
		select {
		case l.signal <- e:
		default:
		}
	}
	rf := func(e credentials.RefreshEvent) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.refresh = append(l.refresh, e)
	}
	return rekey.Hooks{KeyRejected: ev, RequestReplayed: ev, RequestNotReplayed: ev, ReplayRejected: ev,
		Failover: ev, MemberCooldown: ev, MemberQuarantined: member, MemberRestored: member,
		RefreshStarted: rf, RefreshSucceeded: rf, RefreshFailed: rf}
}

// of returns the call events of kind.
func (l *poolLog) of(kind transport.EventKind) []transport.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []transport.Event
	for _, e := range l.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// kinds returns the kinds of the call events, in order.
func (l *poolLog) kinds() []transport.EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []transport.EventKind
	for _, e := range l.events {
		out = append(out, e.Kind)
	}
	return out
}

// all returns every call event and member event, for leak checks.
func (l *poolLog) all() ([]transport.Event, []credentials.PoolEvent, []credentials.RefreshEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events), slices.Clone(l.members), slices.Clone(l.refresh)
}

// await waits (10 s at most) for a member event of kind about member.
func (l *poolLog) await(t *testing.T, kind credentials.PoolEventKind, member int) credentials.PoolEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-l.signal:
			if ev.Kind == kind && ev.Member == member {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event for member %d within 10s", kind, member)
			return credentials.PoolEvent{}
		}
	}
}

// poolClient builds Credentials on pool that report to a new poolLog, and a
// client of srv through them; it closes the Credentials, then the pool,
// when the test ends.
func poolClient(t *testing.T, srv *keyServer, pool *credentials.Pool, opts ...grpcrekey.Option) (testgrpc.TestServiceClient, *grpcrekey.Credentials, *poolLog) {
	t.Helper()
	log := newPoolLog()
	rk, err := grpcrekey.New(pool, append([]grpcrekey.Option{grpcrekey.WithHooks(log.hooks())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rk.Close()
		pool.Close()
	})
	return testgrpc.NewTestServiceClient(dialConn(t, srv.addr, insecureCreds(), rk.DialOptions())), rk, log
}

// load is unary calls from workers, each with a unique payload, until
// stopped; it counts the calls made and keeps the failures.
type load struct {
	calls  atomic.Int64
	mu     sync.Mutex
	failed []error
	stop   chan struct{}
	done   sync.WaitGroup
	once   sync.Once
}

// startLoad starts workers calling client; the load is stopped when the
// test ends at the latest.
func startLoad(t *testing.T, client testgrpc.TestServiceClient, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for w := range workers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for seq := 0; ; seq++ {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				body := fmt.Sprintf("worker %d call %d", w, seq)
				got, err := unaryCall(ctx, client, body)
				cancel()
				if err == nil && got != body {
					err = fmt.Errorf("answer %q for %q", got, body)
				}
				l.calls.Add(1)
				if err != nil {
					l.mu.Lock()
					l.failed = append(l.failed, err)
					l.mu.Unlock()
				}
				select {
				case <-l.stop:
					return
				default:
				}
			}
		}()
	}
	t.Cleanup(l.end)
	return l
}

// end stops the workers and waits for them; it may be called more than
// once.
func (l *load) end() {
	l.once.Do(func() { close(l.stop) })
	l.done.Wait()
}

// failures returns the failed calls so far.
func (l *load) failures() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.failed)
}

// waitFor waits (10 s at most) until cond holds, yielding meanwhile.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 10s waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
