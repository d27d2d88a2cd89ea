package credentials_test

import (
	"context"
	"sync"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

type ctxKey struct{}

// eventLog collects RefreshEvents from any number of Caches.
type eventLog struct {
	mu  sync.Mutex
	evs []credentials.RefreshEvent
}

func (l *eventLog) add(ev credentials.RefreshEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
}

func (l *eventLog) all() []credentials.RefreshEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]credentials.RefreshEvent(nil), l.evs...)
}

// Two Caches refresh at the same time and finish in the opposite order from
// the one they started in: each end event still pairs with its own start
// event by ID, and carries the context of the caller that started it.
func TestRefreshEventIDsPairOverlappingRefreshes(t *testing.T) {
	var log eventLog
	ma := &minter{gate: make(chan struct{})}
	mb := &minter{gate: make(chan struct{})}
	a := &credentials.Cache{Refresh: ma.refresh, OnRefresh: log.add}
	b := &credentials.Cache{Refresh: mb.refresh, OnRefresh: log.add}
	t.Cleanup(func() { a.Close(); b.Close() })

	var wg sync.WaitGroup
	for name, c := range map[string]*credentials.Cache{"a": a, "b": b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.WithValue(context.Background(), ctxKey{}, name)
			if _, err := c.Retrieve(ctx); err != nil {
				t.Errorf("cache %s: %v", name, err)
			}
		}()
	}
	waitFor(t, "both refreshes to start", func() bool { return len(log.all()) == 2 })
	testwait.Send(t, mb.gate, struct{}{}, testwait.Timeout, "b's refresh its result") // b ends first
	waitFor(t, "b's refresh to end", func() bool { return len(log.all()) == 3 })
	testwait.Send(t, ma.gate, struct{}{}, testwait.Timeout, "a's refresh its result")
	testwait.Group(t, &wg, testwait.Timeout, "both Retrieve calls")

	evs := log.all()
	if len(evs) != 4 {
		t.Fatalf("got %d events, want 4", len(evs))
	}
	started := map[uint64]string{}
	for _, ev := range evs[:2] {
		if ev.Phase != credentials.RefreshStarted {
			t.Fatalf("event %+v: want a start first", ev)
		}
		started[ev.ID] = ev.Context.Value(ctxKey{}).(string)
	}
	if len(started) != 2 {
		t.Fatalf("the two refreshes share an ID: %v", started)
	}
	for _, ev := range evs[2:] {
		if ev.Phase != credentials.RefreshSucceeded {
			t.Fatalf("event %+v: want success", ev)
		}
		name, ok := started[ev.ID]
		if !ok || ev.ID == 0 {
			t.Fatalf("end event with ID %d matches no start %v", ev.ID, started)
		}
		if got := ev.Context.Value(ctxKey{}); got != name {
			t.Errorf("end of %s's refresh carries the context of %v", name, got)
		}
		delete(started, ev.ID)
	}
	if evs[2].Context.Value(ctxKey{}) != "b" {
		t.Errorf("first end event is %v's, want b's", evs[2].Context.Value(ctxKey{}))
	}
}

// Successive refreshes of one Cache get new IDs; a failed one pairs too.
func TestRefreshEventIDsAreNewPerRefresh(t *testing.T) {
	var log eventLog
	m := &minter{}
	c := &credentials.Cache{Refresh: m.refresh, OnRefresh: log.add, Cooldown: -1, RefreshAttempts: 1}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	cred, err := c.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Invalidate(ctx, cred); err != nil {
		t.Fatal(err)
	}
	m.fail = credentials.Permanent(context.DeadlineExceeded)
	cred, _ = c.Retrieve(ctx)
	if _, err := c.Invalidate(ctx, cred); err == nil {
		t.Fatal("refresh succeeded, want the minter's failure")
	}

	evs := log.all()
	want := []credentials.RefreshPhase{
		credentials.RefreshStarted, credentials.RefreshSucceeded,
		credentials.RefreshStarted, credentials.RefreshSucceeded,
		credentials.RefreshStarted, credentials.RefreshFailed,
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	seen := map[uint64]bool{}
	for i := 0; i < len(evs); i += 2 {
		start, end := evs[i], evs[i+1]
		if start.Phase != want[i] || end.Phase != want[i+1] {
			t.Fatalf("events %d, %d: phases %v, %v; want %v, %v", i, i+1, start.Phase, end.Phase, want[i], want[i+1])
		}
		if start.ID == 0 || start.ID != end.ID || seen[start.ID] {
			t.Errorf("refresh %d: start ID %d, end ID %d, IDs seen before %v", i/2, start.ID, end.ID, seen)
		}
		if start.Context == nil || end.Context == nil {
			t.Errorf("refresh %d: nil Context", i/2)
		}
		seen[start.ID] = true
	}
}
