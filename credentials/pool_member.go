package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrPoolClosed is matched by the failure of a [Pool] member's refresh that
// the Pool's Close cut short or never started.
var ErrPoolClosed = errors.New("credentials: pool is closed")

// memberStatus is why a member is out of rotation.
type memberStatus uint8

const (
	statusRefreshing  memberStatus = iota + 1 // its key was refused; a refresh runs in the background
	statusQuarantined                         // its refresh produced no new key
	statusCooling                             // a FailoverOn status: out until a point in time
)

// memberState is the state of a member that is out of rotation; a healthy
// member has none (a nil pointer, so that Pick pays one atomic load for
// it). A state is immutable: a change stores a new one, by
// CompareAndSwap, so that one goroutine wins each transition.
type memberState struct {
	status   memberStatus
	rejected Credential      // the key refused (zero: the provider failed before yielding one)
	until    time.Time       // quarantined: when the provider is read again; cooling: when it ends
	err      error           // quarantined: why there is no new key
	done     chan struct{}   // refreshing: closed when the refresh has settled
	reread   bool            // refreshing: the read after a quarantine (its outcome is not news)
	ctx      context.Context // values of the request that put the member out, for events
}

// describe names the state for Pool.String.
func (s *memberState) describe() string {
	if s == nil {
		return "healthy"
	}
	switch s.status {
	case statusRefreshing:
		return "refreshing"
	case statusQuarantined:
		return "quarantined until " + s.until.Format(time.RFC3339)
	case statusCooling:
		return "cooling down until " + s.until.Format(time.RFC3339)
	}
	return "unknown"
}

// why says why mb is out, for errors.
func (mb *member) why() error {
	s := mb.state.Load()
	switch {
	case s == nil:
		return fmt.Errorf("credentials: pool member %d has no key yet", mb.index)
	case s.status == statusQuarantined:
		return &QuarantineError{Member: mb.index, Key: redactHeld(s.rejected.Key), Until: s.until, Err: s.err}
	case s.status == statusCooling:
		return fmt.Errorf("credentials: pool member %d (%s) cools down until %s", mb.index, Redact(s.rejected.Key), s.until.Format(time.RFC3339))
	}
	return fmt.Errorf("credentials: pool member %d (%s) is being refreshed", mb.index, Redact(s.rejected.Key))
}

// redactHeld is Redact, or "" for no key at all.
func redactHeld(key string) string {
	if key == "" {
		return ""
	}
	return Redact(key)
}

// QuarantineError says that a [Pool] member is quarantined: its refresh
// produced no new key. errors.Is and errors.As see through it to the
// refresh's own error (often [ErrSameKey]).
type QuarantineError struct {
	Member int       // the member's index
	Key    string    // its rejected key, redacted; empty if its provider never yielded one
	Until  time.Time // when its provider is read again
	Err    error     // why its refresh produced no new key
}

// Error names the member, its redacted key and the refresh's failure.
func (e *QuarantineError) Error() string {
	key := ""
	if e.Key != "" {
		key = " (" + e.Key + ")"
	}
	return fmt.Sprintf("credentials: pool member %d%s quarantined until %s: %s", e.Member, key,
		e.Until.Format(time.RFC3339), trimPrefix(e.Err))
}

// Unwrap returns the refresh's error.
func (e *QuarantineError) Unwrap() error { return e.Err }

// trimPrefix is err's text without this package's "credentials: " prefix,
// for a message that already starts with it.
func trimPrefix(err error) string {
	if err == nil {
		return "no new key"
	}
	return strings.TrimPrefix(err.Error(), "credentials: ")
}

// usable reports whether mb may serve a request now. A member out of
// rotation comes back here, lazily: a cooldown that has ended, or a
// quarantined member whose Cache found a new key (a [Poller]'s poll, which
// this read starts when due); a quarantine that has lasted Quarantine starts
// the one background read of the member's provider.
func (p *Pool) usable(mb *member) bool {
	s := mb.state.Load()
	if s == nil {
		return true
	}
	switch s.status {
	case statusCooling:
		if time.Now().Before(s.until) {
			return false
		}
		p.restore(mb, s, s.rejected)
	case statusQuarantined:
		if s.rejected.Key != "" {
			if cur, ok := mb.cache.held(); ok && cur.Key != s.rejected.Key {
				p.restore(mb, s, cur)
				break
			}
		}
		if !time.Now().Before(s.until) {
			next := &memberState{status: statusRefreshing, rejected: s.rejected, done: make(chan struct{}), reread: true, ctx: s.ctx}
			if mb.state.CompareAndSwap(s, next) {
				p.refreshInBackground(mb, next)
			}
		}
		return false
	}
	return mb.state.Load() == nil
}

// restore puts mb, out in state s, back into rotation, once.
func (p *Pool) restore(mb *member, s *memberState, cred Credential) {
	if mb.state.CompareAndSwap(s, nil) {
		p.notify(PoolEvent{Kind: MemberRestored, Member: mb.index, Key: Redact(cred.Key), Context: s.ctx})
	}
}

// Reject reports that the API rejected m's key (m as [Pool.Pick] or
// [Pool.Next] returned it). The member leaves the rotation at once and its
// Cache refreshes it in the background, once however many requests report
// the same key; ctx's values (not its cancellation) go with the refresh.
// If a new key comes of it, the member is back; if not, it is quarantined.
// Reject does nothing if the member already holds another key or is
// already being refreshed or quarantined. It never blocks.
func (p *Pool) Reject(ctx context.Context, m Member) {
	mb := p.member(m.Index)
	if mb == nil {
		return
	}
	for {
		s := mb.state.Load()
		if s != nil && s.status != statusCooling {
			return // already out, and refreshed or being refreshed
		}
		if cur, ok := mb.cache.held(); ok && cur.Key != m.Credential.Key {
			return // replaced meanwhile
		}
		next := &memberState{status: statusRefreshing, rejected: m.Credential, done: make(chan struct{}), ctx: context.WithoutCancel(ctx)}
		if mb.state.CompareAndSwap(s, next) {
			p.refreshInBackground(mb, next)
			return
		}
	}
}

// CoolDown takes m out of rotation for d (for Quarantine if d <= 0), after
// the API answered one of PoolOptions.FailoverOn with m's key, and returns
// the cooldown applied. It does nothing if the member holds another key by
// now or is already out for another reason; a longer cooldown replaces a
// shorter one. The member is back, lazily, once it has passed.
func (p *Pool) CoolDown(ctx context.Context, m Member, d time.Duration) time.Duration {
	mb := p.member(m.Index)
	if d <= 0 {
		d = p.quarantine
	}
	if mb == nil {
		return d
	}
	until := time.Now().Add(d)
	for {
		s := mb.state.Load()
		if s != nil && (s.status != statusCooling || !s.until.Before(until)) {
			return d
		}
		if cur, ok := mb.cache.held(); ok && cur.Key != m.Credential.Key {
			return d
		}
		if mb.state.CompareAndSwap(s, &memberState{status: statusCooling, rejected: m.Credential, until: until, ctx: context.WithoutCancel(ctx)}) {
			return d
		}
	}
}

// ReplayRejected reports that the API rejected m's key right after
// [Pool.Await] returned it (the request replayed with it was rejected
// too): as [Pool.Reject], but the member's Cache is told first
// ([Cache.ReplayRejected]), so that its source is not asked again for its
// RejectedKeyCooldown and the member goes straight to quarantine.
func (p *Pool) ReplayRejected(ctx context.Context, m Member) {
	mb := p.member(m.Index)
	if mb == nil {
		return
	}
	mb.cache.ReplayRejected(m.Credential)
	p.Reject(ctx, m)
}

// Await waits (as long as ctx allows) for the background refresh of m,
// which the API rejected and [Pool.Reject] took out, and returns the member
// with its new key. If it has none, the error says why (a
// *[QuarantineError], say) and the Member returned is as it stands, with
// the key it holds, if any. Await starts no refresh of its own, so a request
// that awaits every member it was rejected with refreshes each at most
// once. Given a member with a zero Credential, it waits for whatever
// refresh is under way and returns the member's key if it is healthy.
func (p *Pool) Await(ctx context.Context, m Member) (Member, error) {
	mb := p.member(m.Index)
	if mb == nil {
		return Member{}, fmt.Errorf("credentials: pool has no member %d", m.Index)
	}
	s := mb.state.Load()
	if s != nil && s.status == statusRefreshing {
		select {
		case <-s.done:
		case <-ctx.Done():
			return Member{Index: m.Index}, ctx.Err()
		}
		s = mb.state.Load()
	}
	cur, held := mb.cache.held()
	now := Member{Index: m.Index, Credential: cur}
	switch {
	case s != nil:
		return now, mb.why()
	case !held:
		return now, fmt.Errorf("credentials: pool member %d has no key yet", m.Index)
	case cur.Key == m.Credential.Key:
		return now, fmt.Errorf("credentials: pool member %d (%s) still holds the rejected key", m.Index, Redact(cur.Key))
	}
	return now, nil
}

// member returns the member at index i, or nil.
func (p *Pool) member(i int) *member {
	if i < 0 || i >= len(p.members) {
		return nil
	}
	return p.members[i]
}

// quarantineFailed quarantines a healthy member whose provider failed to
// yield a key at all.
func (p *Pool) quarantineFailed(ctx context.Context, mb *member, err error) {
	s := &memberState{status: statusQuarantined, err: err, until: time.Now().Add(p.quarantine), ctx: context.WithoutCancel(ctx)}
	if mb.state.CompareAndSwap(nil, s) {
		p.notify(PoolEvent{Kind: MemberQuarantined, Member: mb.index, Err: err, Until: s.until, Context: s.ctx})
	}
}

// refreshInBackground refreshes mb, out in state s (refreshing), on a
// goroutine that the Pool owns, and settles the outcome.
func (p *Pool) refreshInBackground(mb *member, s *memberState) {
	ctx, cancel := context.WithCancel(s.ctx)
	if !p.startWork(&cancel) {
		cancel()
		p.settle(mb, s, Credential{}, ErrPoolClosed)
		return
	}
	go func() {
		defer p.endWork(&cancel)
		defer cancel()
		var cred Credential
		var err error
		if s.rejected.Key == "" {
			cred, err = mb.cache.Retrieve(ctx) // the provider never yielded a key: ask for a first one
		} else {
			cred, err = mb.cache.Invalidate(ctx, s.rejected) // one refresh, joined by the Cache's own
		}
		p.settle(mb, s, cred, err)
	}()
}

// settle ends the refresh of mb in state s: back with a new key, or
// quarantined.
func (p *Pool) settle(mb *member, s *memberState, cred Credential, err error) {
	if err == nil && cred.Key == s.rejected.Key {
		err = ErrSameKey
	}
	var next *memberState
	if err != nil {
		next = &memberState{status: statusQuarantined, rejected: s.rejected, err: err, until: time.Now().Add(p.quarantine), ctx: s.ctx}
	}
	mb.state.CompareAndSwap(s, next) // only the owner of s moves a refreshing member on
	close(s.done)
	switch {
	case err == nil:
		p.notify(PoolEvent{Kind: MemberRestored, Member: mb.index, Key: Redact(cred.Key), Context: s.ctx})
	case !s.reread: // a read after a quarantine that finds nothing new is not news
		p.notify(PoolEvent{Kind: MemberQuarantined, Member: mb.index, Key: redactHeld(s.rejected.Key), Err: err, Until: next.until, Context: s.ctx})
	}
}
