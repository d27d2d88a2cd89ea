package credentials

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PoolEventKind names what happened to a [Pool] member in a [PoolEvent].
type PoolEventKind int

// Kinds of pool events.
const (
	// MemberQuarantined: the member's refresh, after the API rejected its
	// key (or its provider failed to yield one), produced no new key. It
	// is out until Until, when its provider is read again (a [Poller]
	// member comes back earlier if its poll finds a new key). Err says why.
	MemberQuarantined PoolEventKind = iota + 1
	// MemberRestored: the member is back in rotation, with a new key (Key)
	// from its refresh, its provider or its poll, or at the end of a
	// cooldown (then with the key it had).
	MemberRestored
	// MemberRefresh: the member's Cache reports a stage of a refresh
	// (Refresh holds its event). Only for the Caches the Pool made: a
	// *Cache given as a provider reports through its own OnRefresh.
	MemberRefresh
)

// String names the kind: "member quarantined", "member restored" or
// "member refresh".
func (k PoolEventKind) String() string {
	switch k {
	case MemberQuarantined:
		return "member quarantined"
	case MemberRestored:
		return "member restored"
	case MemberRefresh:
		return "member refresh"
	}
	return "unknown"
}

// PoolEvent reports a change of a [Pool] member's state, for logs and
// metrics (see [Pool.Observe]). It carries no key: Key is redacted.
type PoolEvent struct {
	Kind   PoolEventKind
	Member int    // the member's index, from 0
	Key    string // its key, redacted ([Redact]): the rejected one, or the new one when restored; "" if none
	Err    error  // MemberQuarantined: why there is no new key
	Until  time.Time
	// Refresh is the member Cache's event, for MemberRefresh.
	Refresh RefreshEvent

	// Context carries the values of the request whose rejection started
	// the change, when there is one (a tracer finds its span there); it is
	// not for cancelling anything and is never nil.
	Context context.Context
}

// String describes the event, as in "pool member 0 (rk_live_…9f2c)
// quarantined until 2026-01-02T15:04:05Z: refresh returned the rejected key
// again".
func (e PoolEvent) String() string {
	var b strings.Builder
	b.WriteString("pool member ")
	b.WriteString(strconv.Itoa(e.Member))
	if e.Key != "" {
		b.WriteString(" (" + e.Key + ")")
	}
	switch e.Kind {
	case MemberQuarantined:
		b.WriteString(" quarantined until " + e.Until.Format(time.RFC3339) + ": " + trimPrefix(e.Err))
	case MemberRestored:
		b.WriteString(" restored")
	case MemberRefresh:
		b.WriteString(" refresh " + e.Refresh.Phase.String() + " (" + e.Refresh.Reason.String() + ")")
	default:
		b.WriteString(" " + e.Kind.String())
	}
	return b.String()
}

// poolObserver is one Observe registration; its pointer identifies it.
type poolObserver struct{ fn func(PoolEvent) }

// Observe registers fn to be told of every change of a member's state:
// quarantined, restored, and the refreshes of the Caches the Pool made.
// fn runs on the goroutine that made the change (a request's, or a
// background refresh's); it must be fast, must not block and must not call
// back into the Pool. The events of a request itself (which member was
// rejected, which one a request was replayed with) are the transport's:
// see transport.Event. Call stop to unregister; rekey.Client registers its
// hooks and logger when given a Pool, and unregisters them on Close.
func (p *Pool) Observe(fn func(PoolEvent)) (stop func()) {
	if fn == nil {
		return func() {}
	}
	o := &poolObserver{fn: fn}
	p.addObserver(o)
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		cur := p.observers.Load()
		if cur == nil {
			return
		}
		list := slices.DeleteFunc(slices.Clone(*cur), func(x *poolObserver) bool { return x == o })
		p.observers.Store(&list)
	}
}

// addObserver adds o to the observers, under the Pool's lock.
func (p *Pool) addObserver(o *poolObserver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var list []*poolObserver
	if cur := p.observers.Load(); cur != nil {
		list = slices.Clone(*cur)
	}
	list = append(list, o)
	p.observers.Store(&list)
}

// notify tells every observer of ev.
func (p *Pool) notify(ev PoolEvent) {
	list := p.observers.Load()
	if list == nil {
		return
	}
	if ev.Context == nil {
		ev.Context = context.Background()
	}
	for _, o := range *list {
		o.fn(ev)
	}
}

// forwardRefresh returns the OnRefresh of member i's Cache: its events go
// to the Pool's observers.
func (p *Pool) forwardRefresh(i int) func(RefreshEvent) {
	return func(ev RefreshEvent) {
		p.notify(PoolEvent{Kind: MemberRefresh, Member: i, Refresh: ev, Context: ev.Context})
	}
}
