package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

const (
	poolKey0 = "rk_test_POOL0POOL0POOL0POOL0"
	poolKey1 = "rk_test_POOL1POOL1POOL1POOL1"
	poolKey2 = "rk_test_POOL2POOL2POOL2POOL2"
)

// poolEvents collects a Pool's events and signals each.
type poolEvents struct {
	mu  sync.Mutex
	all []credentials.PoolEvent
	ch  chan credentials.PoolEvent
}

func observe(t *testing.T, p *credentials.Pool) *poolEvents {
	e := &poolEvents{ch: make(chan credentials.PoolEvent, 64)}
	stop := p.Observe(func(ev credentials.PoolEvent) {
		e.mu.Lock()
		e.all = append(e.all, ev)
		e.mu.Unlock()
		select {
		case e.ch <- ev:
		default:
		}
	})
	t.Cleanup(stop)
	return e
}

func (e *poolEvents) await(t *testing.T, kind credentials.PoolEventKind, member int) credentials.PoolEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind && ev.Member == member {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event for member %d within 10s", kind, member)
		}
	}
}

func newTestPool(t *testing.T, opts credentials.PoolOptions, providers ...credentials.Provider) *credentials.Pool {
	p := credentials.NewPoolWith(opts, providers...)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPoolConfigurationErrors(t *testing.T) {
	many := make([]credentials.Provider, credentials.MaxPoolMembers+1)
	for i := range many {
		many[i] = credentials.Static(poolKey0)
	}
	for _, tc := range []struct {
		name      string
		opts      credentials.PoolOptions
		providers []credentials.Provider
		want      string
	}{
		{"no provider", credentials.PoolOptions{}, nil, "NewPool got no providers"},
		{"nil provider", credentials.PoolOptions{}, []credentials.Provider{credentials.Static(poolKey0), nil}, "provider 1 is nil"},
		{"pool in a pool", credentials.PoolOptions{}, []credentials.Provider{credentials.NewPool(credentials.Static(poolKey0))}, "provider 0 is a Pool"},
		{"too many", credentials.PoolOptions{}, many, "at most 64"},
		{"negative quarantine", credentials.PoolOptions{Quarantine: -time.Second}, []credentials.Provider{credentials.Static(poolKey0)}, "Quarantine is negative"},
		{"success status", credentials.PoolOptions{FailoverOn: []int{402, 200}}, []credentials.Provider{credentials.Static(poolKey0)}, "FailoverOn holds 200"},
		{"below the error statuses", credentials.PoolOptions{FailoverOn: []int{399}}, []credentials.Provider{credentials.Static(poolKey0)}, "FailoverOn holds 399"},
		{"above the error statuses", credentials.PoolOptions{FailoverOn: []int{429, 600}}, []credentials.Provider{credentials.Static(poolKey0)}, "FailoverOn holds 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPool(t, tc.opts, tc.providers...)
			if err := p.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Err() = %v, want one saying %q", err, tc.want)
			}
			if _, err := p.Pick(bounded(t)); err == nil || err.Error() != p.Err().Error() {
				t.Errorf("Pick error %v, want the configuration error", err)
			}
			if !strings.Contains(p.String(), "invalid") {
				t.Errorf("String() = %q, want it to say the pool is invalid", p)
			}
		})
	}
	// The first and the last error status are accepted.
	if err := newTestPool(t, credentials.PoolOptions{FailoverOn: []int{400, 599}}, credentials.Static(poolKey0)).Err(); err != nil {
		t.Errorf("FailoverOn 400 and 599: %v, want them accepted", err)
	}
	if err := credentials.NewPool().Err(); !errors.Is(err, credentials.ErrNoCredentials) {
		t.Errorf("an empty pool's error %v should match ErrNoCredentials", err)
	}
}

// Primary first: every Pick is the first healthy member; Next skips the
// members tried; Reject takes a member out for every later Pick at once.
func TestPoolPrimaryFirstAndNext(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{Quarantine: time.Hour},
		credentials.Static(poolKey0), credentials.Static(poolKey1), credentials.Static(poolKey2))
	ev := observe(t, p)
	for range 5 {
		m, err := p.Pick(bounded(t))
		if err != nil || m.Index != 0 || m.Credential.Key != poolKey0 {
			t.Fatalf("Pick = %v, %v; want member 0", m, err)
		}
	}
	first, _ := p.Pick(bounded(t))
	next, ok := p.Next(bounded(t), credentials.MemberSet(0).With(0))
	if !ok || next.Index != 1 {
		t.Fatalf("Next after 0 = %v, %v; want member 1", next, ok)
	}
	if _, ok := p.Next(bounded(t), credentials.MemberSet(0).With(0).With(1).With(2)); ok {
		t.Error("Next with every member tried found one")
	}

	p.Reject(bounded(t), first)
	if m, _ := p.Pick(bounded(t)); m.Index != 1 {
		t.Errorf("Pick after member 0 was rejected = %v, want member 1", m)
	}
	q := ev.await(t, credentials.MemberQuarantined, 0)
	if !errors.Is(q.Err, credentials.ErrSameKey) || q.Key != credentials.Redact(poolKey0) {
		t.Errorf("quarantine event %v: want ErrSameKey and the redacted key", q)
	}
	if _, err := p.Await(bounded(t), first); !errors.As(err, new(*credentials.QuarantineError)) {
		t.Errorf("Await = %v, want a *QuarantineError", err)
	}
	p.Reject(bounded(t), first) // already out: no second refresh
	for _, e := range ev.all {
		if e.Kind == credentials.MemberQuarantined && e.Member == 0 && e != q {
			t.Errorf("a second quarantine event %v", e)
		}
	}
	if got := p.String(); !strings.Contains(got, "[0] "+credentials.Redact(poolKey0)+" quarantined until") || !strings.Contains(got, "[1] "+credentials.Redact(poolKey1)+" healthy") {
		t.Errorf("String() = %q, want member 0 quarantined, 1 healthy", got)
	}
	// Settled, the pool runs no goroutine (the refresh's ends just after
	// its event).
	waitUntil(t, func() bool { return len(poolGoroutines()) == 0 })
	for range 100 {
		p.Pick(bounded(t))
	}
	if g := poolGoroutines(); len(g) != 0 {
		t.Errorf("an idle pool runs %d goroutines:\n%s", len(g), strings.Join(g, "\n\n"))
	}
}

// poolGoroutines returns the stacks of goroutines running a Pool's code.
func poolGoroutines() []string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	var found []string
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "credentials.(*Pool)") {
			found = append(found, g)
		}
	}
	return found
}

// A member whose provider fails to yield a key is quarantined and the next
// one serves; when no member has a key, the error lists why and matches
// ErrNoCredentials.
func TestPoolMemberWithoutKey(t *testing.T) {
	const unset = "REKEY_POOL_TEST_UNSET_VARIABLE"
	p := newTestPool(t, credentials.PoolOptions{Quarantine: time.Hour}, credentials.Env(unset), credentials.Static(poolKey1))
	ev := observe(t, p)
	m, err := p.Pick(bounded(t))
	if err != nil || m.Index != 1 {
		t.Fatalf("Pick = %v, %v; want member 1", m, err)
	}
	q := ev.await(t, credentials.MemberQuarantined, 0)
	if !errors.Is(q.Err, credentials.ErrNoCredentials) || q.Key != "" {
		t.Errorf("quarantine event %+v: want ErrNoCredentials and no key", q)
	}

	alone := newTestPool(t, credentials.PoolOptions{}, credentials.Env(unset))
	_, err = alone.Pick(bounded(t))
	if !errors.Is(err, credentials.ErrNoCredentials) || !strings.Contains(err.Error(), unset) {
		t.Errorf("Pick of a pool without any key: %v; want ErrNoCredentials naming the variable", err)
	}
}

// A Cache in front of a Pool (a consumer that does not know pools) still
// fails over: its refresh rejects the member and returns the next one's key.
func TestPoolAsRefresherBehindACache(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{Quarantine: time.Hour}, credentials.Static(poolKey0), credentials.Static(poolKey1))
	c := &credentials.Cache{Provider: p}
	t.Cleanup(func() { c.Close() })
	cred, err := c.Retrieve(bounded(t))
	if err != nil || cred.Key != poolKey0 {
		t.Fatalf("Retrieve = %v, %v; want the first key", cred, err)
	}
	fresh, err := c.Invalidate(bounded(t), cred)
	if err != nil || fresh.Key != poolKey1 {
		t.Fatalf("Invalidate = %v, %v; want the second key", fresh, err)
	}
	_, err = c.Invalidate(bounded(t), fresh)
	if !errors.Is(err, credentials.ErrSameKey) {
		t.Errorf("second Invalidate: %v; want both members quarantined (ErrSameKey)", err)
	}
}

// blocking is a provider whose refreshes block until their context ends.
type blocking struct {
	key     string
	calls   atomic.Int64
	started chan struct{}
}

func (b *blocking) Retrieve(ctx context.Context) (credentials.Credential, error) {
	if b.calls.Add(1) == 1 {
		return credentials.Credential{Key: b.key}, nil
	}
	close(b.started)
	<-ctx.Done()
	return credentials.Credential{}, ctx.Err()
}

// Close cancels a background refresh and waits for it; Await returns as
// soon as its own context ends.
func TestPoolCloseStopsBackgroundRefresh(t *testing.T) {
	b := &blocking{key: poolKey0, started: make(chan struct{})}
	p := credentials.NewPool(b, credentials.Static(poolKey1))
	m, err := p.Pick(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Reject(bounded(t), m)
	select {
	case <-b.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the background refresh did not start")
	}
	ctx, cancel := context.WithCancel(bounded(t))
	cancel()
	if _, err := p.Await(ctx, m); !errors.Is(err, context.Canceled) {
		t.Errorf("Await with an ended context: %v", err)
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the background refresh")
	}
	if _, err := p.Await(bounded(t), m); !errors.Is(err, credentials.ErrCacheClosed) && !errors.Is(err, context.Canceled) {
		t.Errorf("Await after Close: %v; want the refresh cut short", err)
	}
	// Member 1's Cache, closed, cannot fetch its first key: the member
	// holding one serves, out of rotation as it is.
	if got, err := p.Pick(bounded(t)); err != nil || got.Index != 0 {
		t.Errorf("after Close, Pick = %v, %v; want member 0, the one holding a key", got, err)
	}
	p.Close() // idempotent
}

// Round robin takes turns over the healthy members only.
func TestPoolRoundRobinTurns(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{RoundRobin: true, Quarantine: time.Hour},
		credentials.Static(poolKey0), credentials.Static(poolKey1), credentials.Static(poolKey2))
	var got []int
	for range 6 {
		m, _ := p.Pick(bounded(t))
		got = append(got, m.Index)
	}
	if fmt.Sprint(got) != "[0 1 2 0 1 2]" {
		t.Errorf("turns %v, want [0 1 2 0 1 2]", got)
	}
	p.CoolDown(bounded(t), credentials.Member{Index: 1, Credential: credentials.Credential{Key: poolKey1}}, time.Hour)
	counts := map[int]int{}
	for range 600 {
		m, _ := p.Pick(bounded(t))
		counts[m.Index]++
	}
	if counts[1] != 0 || counts[0] != 300 || counts[2] != 300 {
		t.Errorf("with member 1 cooling down: %v, want 300 each for 0 and 2", counts)
	}
}

// A cooldown ends on its own; a shorter one does not cut a longer one.
func TestPoolCoolDown(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{}, credentials.Static(poolKey0), credentials.Static(poolKey1))
	ev := observe(t, p)
	m0 := credentials.Member{Index: 0, Credential: credentials.Credential{Key: poolKey0}}
	if d := p.CoolDown(bounded(t), m0, 0); d != credentials.DefaultQuarantine {
		t.Errorf("CoolDown without a duration = %v, want the Quarantine", d)
	}
	p.CoolDown(bounded(t), m0, time.Millisecond) // shorter: ignored
	time.Sleep(5 * time.Millisecond)
	if m, _ := p.Pick(bounded(t)); m.Index != 1 {
		t.Errorf("Pick = %v; want member 1 while member 0 cools down", m)
	}
	p2 := newTestPool(t, credentials.PoolOptions{}, credentials.Static(poolKey0), credentials.Static(poolKey1))
	ev2 := observe(t, p2)
	p2.CoolDown(bounded(t), m0, time.Millisecond)
	waitUntil(t, func() bool { m, _ := p2.Pick(bounded(t)); return m.Index == 0 })
	ev2.await(t, credentials.MemberRestored, 0)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, e := range ev.all {
		if e.Kind != credentials.MemberRefresh {
			t.Errorf("event %v for a cooldown that has not ended", e)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Members' refreshes reach the Pool's observers; Observe's stop ends that.
func TestPoolObserveForwardsRefreshes(t *testing.T) {
	src := newStore(poolKey0, 0)
	p := newTestPool(t, credentials.PoolOptions{}, src)
	var n atomic.Int64
	stop := p.Observe(func(ev credentials.PoolEvent) {
		if ev.Kind == credentials.MemberRefresh && ev.Refresh.Reason == credentials.ReasonInitial {
			n.Add(1)
		}
	})
	if _, err := p.Pick(bounded(t)); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 {
		t.Errorf("%d refresh events for the first key, want 2 (started, succeeded)", n.Load())
	}
	stop()
	stop() // idempotent
	p2 := newTestPool(t, credentials.PoolOptions{}, newStore(poolKey1, 0))
	p2.Observe(nil)() // a nil observer is ignored
	if _, err := p2.Pick(bounded(t)); err != nil {
		t.Fatal(err)
	}
}

func TestMemberSet(t *testing.T) {
	var s credentials.MemberSet
	s = s.With(0).With(63).With(64).With(-1)
	for i, want := range map[int]bool{0: true, 1: false, 63: true, 64: false, -1: false} {
		if s.Has(i) != want {
			t.Errorf("Has(%d) = %v, want %v", i, s.Has(i), want)
		}
	}
}

// No verb prints a key: not the Pool's, a Member's, a PoolEvent's or a
// QuarantineError's.
func TestPoolNeverPrintsAKey(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{}, credentials.Static(poolKey0), credentials.Static(poolKey1))
	ev := observe(t, p)
	m, _ := p.Pick(bounded(t))
	p.Reject(bounded(t), m)
	q := ev.await(t, credentials.MemberQuarantined, 0)
	_, qerr := p.Await(bounded(t), m)
	for _, v := range []any{p, m, q, qerr} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, poolKey0) || strings.Contains(s, poolKey1) {
				t.Errorf("%s of %T prints a key: %s", verb, v, s)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(q), credentials.Redact(poolKey0)) || !strings.Contains(qerr.Error(), credentials.Redact(poolKey0)) {
		t.Errorf("event %v and error %v should name the member by its redacted key", q, qerr)
	}
}

// BenchmarkPoolPick measures what a Pool adds to a key read: Pick against
// Cache.Retrieve, on one goroutine (-cpu 1 keeps the scheduler out of it).
// Primary first costs one atomic load per member up to the first healthy
// one; round robin adds an atomic add, which contends under parallel load.
func BenchmarkPoolPick(b *testing.B) {
	keys := []credentials.Provider{credentials.Static(poolKey0), credentials.Static(poolKey1), credentials.Static(poolKey2)}
	ctx := context.Background()
	b.Run("source=cache", func(b *testing.B) {
		c := &credentials.Cache{Provider: keys[0]}
		b.Cleanup(func() { c.Close() })
		c.Retrieve(ctx)
		b.ReportAllocs()
		for b.Loop() {
			c.Retrieve(ctx)
		}
	})
	for _, tc := range []struct {
		name string
		opts credentials.PoolOptions
	}{
		{"source=pool3-primary", credentials.PoolOptions{}},
		{"source=pool3-roundrobin", credentials.PoolOptions{RoundRobin: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := credentials.NewPoolWith(tc.opts, keys...)
			b.Cleanup(func() { p.Close() })
			for range 3 {
				p.Pick(ctx) // every member's first key
			}
			b.ReportAllocs()
			for b.Loop() {
				p.Pick(ctx)
			}
		})
	}
}

// bounded is the context of a pool test's calls: a call that should return
// at once but waits (a refresh awaited that never ends) fails the test in
// testwait.Timeout instead of hanging it.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testwait.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// Await of a member the Pool does not have is an error, not a panic.
func TestPoolAwaitUnknownMember(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{}, credentials.Static(poolKey0), credentials.Static(poolKey1))
	for _, i := range []int{-1, 2, credentials.MaxPoolMembers} {
		if _, err := p.Await(bounded(t), credentials.Member{Index: i}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pool has no member %d", i)) {
			t.Errorf("Await(member %d) of a pool of 2: %v, want an error naming the member", i, err)
		}
	}
}
