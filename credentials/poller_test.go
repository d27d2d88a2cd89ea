package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// store is a Poller over an in-memory key, standing in for a secret store:
// Retrieve and Poll read the key, and the test counts them.
type store struct {
	key       atomic.Pointer[string]
	interval  atomic.Int64 // nanoseconds
	retrieves atomic.Int64
	polls     atomic.Int64 // Poll calls started
	returned  atomic.Int64 // Poll calls returned
	gated     atomic.Int64 // the first gated Polls wait for gate (or their context)
	gate      chan struct{}
	fail      error  // if set, Poll fails with it
	bad       string // if set, Poll reports this key as changed
}

func newStore(key string, interval time.Duration) *store {
	s := &store{gate: make(chan struct{})}
	s.set(key)
	s.interval.Store(int64(interval))
	return s
}

func (s *store) set(key string) { s.key.Store(&key) }

func (s *store) Retrieve(ctx context.Context) (credentials.Credential, error) {
	s.retrieves.Add(1)
	return credentials.Credential{Key: *s.key.Load()}, nil
}

func (s *store) PollInterval() time.Duration { return time.Duration(s.interval.Load()) }

func (s *store) Poll(ctx context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	n := s.polls.Add(1)
	defer s.returned.Add(1)
	if n <= s.gated.Load() {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return credentials.Credential{}, false, ctx.Err()
		}
	}
	switch {
	case s.fail != nil:
		return credentials.Credential{}, false, s.fail
	case s.bad != "":
		return credentials.Credential{Key: s.bad}, true, nil
	}
	cred := credentials.Credential{Key: *s.key.Load()}
	return cred, cred.Key != current.Key, nil
}

// events records a Cache's OnRefresh events.
type events struct {
	mu  sync.Mutex
	all []credentials.RefreshEvent
}

func (l *events) record(ev credentials.RefreshEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, ev)
}

func (l *events) count(phase credentials.RefreshPhase, reason credentials.RefreshReason) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.all {
		if ev.Phase == phase && ev.Reason == reason {
			n++
		}
	}
	return n
}

func (l *events) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.all {
		fmt.Fprintf(&b, "%s/%s %v; ", ev.Phase, ev.Reason, ev.Err)
	}
	return b.String()
}

// hammer runs Retrieve n times in each of g goroutines and fails the test if
// any returns an error or a key other than want.
func hammer(t *testing.T, c *credentials.Cache, g, n int, want string) {
	t.Helper()
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < n; j++ {
				got, err := c.Retrieve(context.Background())
				if err != nil || got.Key != want {
					wrong.Add(1)
				}
			}
		}()
	}
	testwait.Group(t, &wg, testwait.Timeout, "the Retrieve calls")
	if n := wrong.Load(); n > 0 {
		t.Fatalf("%d Retrieve calls failed or returned another key than %s", n, credentials.Redact(want))
	}
}

func TestCachePollSwapsNewKeyInForAllGoroutines(t *testing.T) {
	src := newStore(keyN(1), time.Millisecond)
	var log events
	c := &credentials.Cache{Provider: src, OnRefresh: log.record}
	t.Cleanup(func() { c.Close() })
	if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(1) {
		t.Fatalf("first Retrieve = %v, %v", got, err)
	}
	src.set(keyN(2))

	const g = 8
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(10 * time.Second)
			seen := 0 // Retrieve calls since the new key showed up
			for seen < 200 {
				got, err := c.Retrieve(context.Background())
				switch {
				case err != nil:
					t.Errorf("Retrieve: %v", err)
					return
				case got.Key == keyN(2):
					seen++
				case seen > 0:
					t.Errorf("the old key came back after the new one")
					return
				case time.Now().After(deadline):
					t.Errorf("the new key was never picked up (%d polls)", src.polls.Load())
					return
				}
			}
		}()
	}
	testwait.Group(t, &wg, testwait.Timeout, "every goroutine to see the new key")
	if t.Failed() {
		return
	}
	if n := log.count(credentials.RefreshSucceeded, credentials.ReasonChanged); n != 1 {
		t.Errorf("%d swaps for one change, want 1: %s", n, &log)
	}
	if n := log.count(credentials.RefreshStarted, credentials.ReasonChanged); n != 1 {
		t.Errorf("%d started events for one change, want 1: %s", n, &log)
	}
	if src.retrieves.Load() != 1 {
		t.Errorf("Retrieve of the source called %d times, want 1 (the first key; the change came by Poll)", src.retrieves.Load())
	}
	// A goroutine whose request still carried the old key is rejected: it
	// gets the polled key, with no refresh.
	if got, err := c.Invalidate(context.Background(), credentials.Credential{Key: keyN(1)}); err != nil || got.Key != keyN(2) {
		t.Errorf("Invalidate(old key) = %v, %v; want the polled key", got, err)
	}
	if n := log.count(credentials.RefreshStarted, credentials.ReasonRejected); n != 0 {
		t.Errorf("a stale rejection started a refresh: %s", &log)
	}
}

func TestCachePollUnchangedSwapsNothing(t *testing.T) {
	src := newStore(keyN(1), time.Millisecond)
	var log events
	c := &credentials.Cache{Provider: src, OnRefresh: log.record}
	t.Cleanup(func() { c.Close() })
	waitFor(t, "five polls", func() bool {
		if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(1) {
			t.Fatalf("Retrieve = %v, %v", got, err)
		}
		return src.returned.Load() >= 5
	})
	if len(log.all) != 2 || log.count(credentials.RefreshSucceeded, credentials.ReasonInitial) != 1 {
		t.Errorf("events: %s; want only the first key's start and success", &log)
	}
	if src.retrieves.Load() != 1 {
		t.Errorf("Retrieve of the source called %d times, want 1", src.retrieves.Load())
	}
}

// TestCachePollCoalesces holds one poll in flight while 200 goroutines call
// Retrieve, then lengthens the interval: whatever the poll's outcome, there
// is one Poll call, at most one event, and the key in use stays.
func TestCachePollCoalesces(t *testing.T) {
	boom := errors.New("store unreachable")
	const badKey = `"sk_live_QUOTEDQUOTEDQUOTED0"`
	for _, tc := range []struct {
		name    string
		fail    error
		bad     string
		wantErr error // nil: an unchanged poll, which reports nothing
	}{
		{"unchanged", nil, "", nil},
		{"failing", boom, "", boom},
		{"malformed new key", nil, badKey, credentials.ErrMalformedKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newStore(keyN(1), time.Millisecond)
			src.fail, src.bad = tc.fail, tc.bad
			src.gated.Store(1)
			var log events
			c := &credentials.Cache{Provider: src, OnRefresh: log.record}
			t.Cleanup(func() { c.Close() })
			waitFor(t, "a poll", func() bool {
				c.Retrieve(context.Background())
				return src.polls.Load() > 0
			})
			src.interval.Store(int64(time.Hour)) // the next poll is an hour after this one
			hammer(t, c, 200, 50, keyN(1))       // while the poll is in flight
			testwait.Send(t, src.gate, struct{}{}, testwait.Timeout, "the poll its release")
			waitFor(t, "the poll to return", func() bool { return src.returned.Load() == 1 })
			hammer(t, c, 200, 50, keyN(1)) // within the next interval
			if n := src.polls.Load(); n != 1 {
				t.Errorf("%d Poll calls, want 1", n)
			}
			if n := log.count(credentials.RefreshStarted, credentials.ReasonChanged) + log.count(credentials.RefreshSucceeded, credentials.ReasonChanged); n != 0 {
				t.Errorf("a poll with no new key reported a swap: %s", &log)
			}
			failed := log.count(credentials.RefreshFailed, credentials.ReasonChanged)
			if tc.wantErr == nil {
				if failed != 0 {
					t.Errorf("an unchanged poll reported a failure: %s", &log)
				}
				return
			}
			waitFor(t, "the failure event", func() bool { return log.count(credentials.RefreshFailed, credentials.ReasonChanged) == 1 })
			log.mu.Lock()
			ev := log.all[len(log.all)-1]
			log.mu.Unlock()
			if !errors.Is(ev.Err, tc.wantErr) {
				t.Errorf("failure event Err = %v, want %v", ev.Err, tc.wantErr)
			}
			if s := fmt.Sprintf("%v %+v %#v %s", ev, ev, ev, ev.Err); strings.Contains(s, "QUOTED") {
				t.Errorf("the polled key leaked: %s", s)
			}
		})
	}
}

func TestCacheDoesNotPollWhileIdle(t *testing.T) {
	src := newStore(keyN(1), time.Millisecond)
	c := &credentials.Cache{Provider: src}
	t.Cleanup(func() { c.Close() })
	c.Retrieve(context.Background())
	time.Sleep(50 * time.Millisecond) // fifty intervals with no Retrieve
	if n := src.polls.Load(); n != 0 {
		t.Fatalf("%d polls while idle, want 0", n)
	}
	waitFor(t, "a poll once used again", func() bool {
		c.Retrieve(context.Background())
		return src.polls.Load() > 0
	})
}

func TestCachePollsOnlyAPollerWithAnInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		refresh  credentials.RefreshFunc // its keys are not the Provider's to judge
	}{
		{"zero interval", 0, nil},
		{"negative interval", -time.Second, nil},
		{"refresh hook", time.Millisecond, (&minter{}).refresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newStore(keyN(1), tc.interval)
			c := &credentials.Cache{Provider: src, Refresh: tc.refresh}
			t.Cleanup(func() { c.Close() })
			for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
				if _, err := c.Retrieve(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if n := src.polls.Load(); n != 0 {
				t.Errorf("%d polls, want none", n)
			}
		})
	}
}

func TestCacheCloseWaitsForPollInFlight(t *testing.T) {
	src := newStore(keyN(1), time.Millisecond)
	src.gated.Store(1) // never released: only Close ends it
	var log events
	c := &credentials.Cache{Provider: src, OnRefresh: log.record}
	waitFor(t, "a poll", func() bool {
		c.Retrieve(context.Background())
		return src.polls.Load() > 0
	})
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the poll in flight")
	}
	if src.returned.Load() != 1 {
		t.Error("Close returned before the poll did")
	}
	if n := log.count(credentials.RefreshFailed, credentials.ReasonChanged); n != 0 {
		t.Errorf("a poll cut short by Close was reported as a failure: %s", &log)
	}
	src.gated.Store(0)
	for i := 0; i < 100; i++ {
		if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(1) {
			t.Fatalf("Retrieve after Close = %v, %v; want the key held", got, err)
		}
	}
	if n := src.polls.Load(); n != 1 {
		t.Errorf("%d polls, want none after Close", n-1)
	}
}

// TestCachePollAndRejectionMakeOneSwap rotates the key in the source while a
// poll is in flight and a request is rejected: rejection recovery swaps the
// new key in, and the poll, finding the same key, swaps nothing more.
func TestCachePollAndRejectionMakeOneSwap(t *testing.T) {
	src := newStore(keyN(1), time.Millisecond)
	src.gated.Store(1)
	var log events
	c := &credentials.Cache{Provider: src, OnRefresh: log.record}
	t.Cleanup(func() { c.Close() })
	waitFor(t, "a poll", func() bool {
		c.Retrieve(context.Background())
		return src.polls.Load() > 0
	})
	src.set(keyN(2))
	got, err := c.Invalidate(context.Background(), credentials.Credential{Key: keyN(1)})
	if err != nil || got.Key != keyN(2) {
		t.Fatalf("Invalidate = %v, %v; want the rotated key", got, err)
	}
	testwait.Send(t, src.gate, struct{}{}, testwait.Timeout, "the poll its release") // the held poll now finds keyN(2), new to the entry it polls
	waitFor(t, "more polls", func() bool {
		if got, err := c.Retrieve(context.Background()); err != nil || got.Key != keyN(2) {
			t.Fatalf("Retrieve = %v, %v", got, err)
		}
		return src.returned.Load() >= 3
	})
	if n := log.count(credentials.RefreshSucceeded, credentials.ReasonRejected); n != 1 {
		t.Errorf("%d refreshes after the rejection, want 1: %s", n, &log)
	}
	if n := log.count(credentials.RefreshStarted, credentials.ReasonChanged); n != 0 {
		t.Errorf("the poll swapped a key already in use: %s", &log)
	}
}

func TestReasonChangedString(t *testing.T) {
	if s := credentials.ReasonChanged.String(); s != "changed" {
		t.Errorf("ReasonChanged.String() = %q, want %q", s, "changed")
	}
}
