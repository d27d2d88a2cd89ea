package credentials

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQuarantine is how long a [Pool] member whose refresh produced no new
// key stays out before its provider is read again, when
// PoolOptions.Quarantine is zero. It is also how long a member cools down
// after a PoolOptions.FailoverOn status that came without Retry-After.
const DefaultQuarantine = 30 * time.Second

// MaxPoolMembers is the most providers a [Pool] holds.
const MaxPoolMembers = 64

// PoolOptions configures a [Pool] made by [NewPoolWith]. The zero value is
// what [NewPool] uses: primary first, DefaultQuarantine, no failover on
// quota statuses.
type PoolOptions struct {
	// RoundRobin spreads requests over the healthy members in turn. By
	// default (false) every request uses the first healthy member in the
	// order the providers were given: the others are standbys.
	RoundRobin bool

	// Quarantine is how long a member whose refresh produced no new key
	// (its source still holds the rejected key, or failed) stays out
	// before its provider is read again; it is read at most once per
	// Quarantine, and only while requests are being sent. A member whose
	// provider is a [Poller] also comes back as soon as a poll finds a new
	// key. It is also the cooldown after a FailoverOn status without
	// Retry-After. Zero means DefaultQuarantine.
	Quarantine time.Duration

	// FailoverOn lists HTTP statuses, such as 402 (an exhausted balance)
	// or 429, after which the member that got one cools down (for the
	// response's Retry-After when it has one, else for Quarantine) and the
	// request is replayed at once with the next healthy member. Empty: none.
	// Each must be in 400..599; an invalid-key rejection is never one of
	// them (it is recognised first). Check the vendor's terms first: some
	// forbid spreading load over several keys to get around their rate
	// limits.
	FailoverOn []int
}

// Pool holds several keys for one API: Azure's key1 and key2, a primary and
// a standby from a secret store, or keys that share the load. It is a
// [Provider], accepted wherever one is; package transport (and so
// rekey.Client) and grpcrekey recognise it and fail over:
//
//   - Each provider is a member with a [Cache] of its own (its own refresh,
//     expiry and polling); a *Cache given as a provider is used as is.
//   - Every request uses the first healthy member (or, with RoundRobin, the
//     healthy members in turn).
//   - When the API rejects a member's key, the request is replayed at once
//     with the next healthy member; the rejected member is refreshed in the
//     background, once however many requests saw the rejection. If that
//     yields a new key it is back at once; if not (the source still holds
//     the rejected key, or failed) it is quarantined: its provider is read
//     again at most once per Quarantine, and a [Poller] member comes back as
//     soon as its poll finds a new key.
//   - A status listed in FailoverOn gives that member a cooldown and
//     replays the request with the next member.
//   - When every member is out, requests use the first member that holds a
//     key, in case the API refused it by mistake: a request then costs one
//     rejection and no refresh.
//
// Reading a key takes no lock: an atomic load of each member's state up to
// the first healthy one, then that member's [Cache.Retrieve]. An idle Pool
// runs no goroutine and no timer; background refreshes belong to the Pool
// and Close stops them.
//
// The methods a transport uses to fail over are [Pool.Pick], [Pool.Next],
// [Pool.Reject], [Pool.CoolDown], [Pool.Await], [Pool.ReplayRejected] and
// [Pool.FailsOver], and [Pool.Observe] for the members' state changes; any
// consumer (an HTTP transport, a gRPC interceptor) can drive a Pool with
// them, as package transport does:
//
//	m, err := pool.Pick(ctx)            // send with m.Credential
//	// the API rejected it:
//	pool.Reject(ctx, m)                 // out of rotation, refreshed in the background
//	next, ok := pool.Next(ctx, credentials.MemberSet(0).With(m.Index))
//	// no healthy member left: wait for the rejected one's refresh
//	fresh, err := pool.Await(ctx, m)
//
// A Pool is safe for concurrent use; it never prints a key (String, every
// fmt verb, its events and errors use [Redact]). Make it with [NewPool] or
// [NewPoolWith]; the zero value is not usable.
type Pool struct {
	members    []*member
	roundRobin bool
	quarantine time.Duration
	failoverOn []int
	err        error         // a configuration error, returned by every Pick
	turn       atomic.Uint32 // round robin

	observers atomic.Pointer[[]*poolObserver]

	mu      sync.Mutex // guards closed, running, observers' writers and bg.Add against Close
	closed  bool
	running []*context.CancelFunc // cancels the background refreshes under way
	bg      sync.WaitGroup
}

// member is one provider of a Pool.
type member struct {
	index int
	cache *Cache
	own   bool                        // cache made by the Pool, so Close closes it
	state atomic.Pointer[memberState] // nil: healthy
}

// NewPool returns a Pool of the providers, primary first, with the default
// options: NewPoolWith(PoolOptions{}, providers...).
func NewPool(providers ...Provider) *Pool { return NewPoolWith(PoolOptions{}, providers...) }

// NewPoolWith returns a Pool of the providers with opts. The providers'
// order is the members' order, and their indexes (from 0) in events and
// errors. A bad configuration (no provider, a nil one, a Pool among them,
// more than MaxPoolMembers, a negative Quarantine, a FailoverOn status
// outside 400..599) is reported by [Pool.Err] and by every request.
func NewPoolWith(opts PoolOptions, providers ...Provider) *Pool {
	p := &Pool{
		roundRobin: opts.RoundRobin,
		quarantine: opts.Quarantine,
		failoverOn: slices.Clone(opts.FailoverOn),
	}
	if p.quarantine == 0 {
		p.quarantine = DefaultQuarantine
	}
	if p.err = checkPool(opts, providers); p.err != nil {
		return p
	}
	for i, pr := range providers {
		m := &member{index: i}
		if c, ok := pr.(*Cache); ok {
			m.cache = c
		} else {
			m.cache = &Cache{
				Provider: pr,
				// The Pool's quarantine spaces out reads of a member's
				// source; the Cache's own cooldowns must not outlast it.
				Cooldown:            min(DefaultCooldown, p.quarantine),
				RejectedKeyCooldown: min(DefaultRejectedKeyCooldown, p.quarantine),
				OnRefresh:           p.forwardRefresh(i),
			}
			m.own = true
		}
		p.members = append(p.members, m)
	}
	return p
}

// checkPool reports what is wrong with a pool's configuration.
func checkPool(opts PoolOptions, providers []Provider) error {
	switch {
	case len(providers) == 0:
		return unavailable("NewPool got no providers: pass at least one (for example credentials.Env(\"API_KEY_1\"), credentials.Env(\"API_KEY_2\"))", nil)
	case len(providers) > MaxPoolMembers:
		return fmt.Errorf("credentials: NewPool got %d providers; a Pool holds at most %d", len(providers), MaxPoolMembers)
	case opts.Quarantine < 0:
		return fmt.Errorf("credentials: PoolOptions.Quarantine is negative (%v): use a positive duration, or zero for %v", opts.Quarantine, DefaultQuarantine)
	}
	for i, pr := range providers {
		switch pr.(type) {
		case nil:
			return fmt.Errorf("credentials: NewPool: provider %d is nil", i)
		case *Pool:
			return fmt.Errorf("credentials: NewPool: provider %d is a Pool: list its providers in this one instead", i)
		}
	}
	for _, code := range opts.FailoverOn {
		if code < 400 || code > 599 {
			return fmt.Errorf("credentials: PoolOptions.FailoverOn holds %d: list HTTP error statuses (400..599), such as 402 or 429", code)
		}
	}
	return nil
}

// Err reports what is wrong with the Pool's configuration, or nil.
// rekey.NewClient checks it; a transport returns it from every request.
func (p *Pool) Err() error { return p.err }

// Len returns the number of members.
func (p *Pool) Len() int { return len(p.members) }

// Member is a member of a [Pool] as the Pool hands it out: its index (from
// 0, in the order the providers were given) and its current credential.
// It prints without the key.
type Member struct {
	Index      int
	Credential Credential
}

// String names the member by index and redacted key, as in
// "member 0 (rk_live_…9f2c)".
func (m Member) String() string {
	return "member " + strconv.Itoa(m.Index) + " (" + Redact(m.Credential.Key) + ")"
}

// Format implements fmt.Formatter so that no verb prints the key.
func (m Member) Format(f fmt.State, _ rune) { fmt.Fprint(f, m.String()) }

// MemberSet is a set of members of a [Pool], by index: the members a
// request was already sent with, for [Pool.Next]. The zero value is empty.
type MemberSet uint64

// With returns the set with member i added.
func (s MemberSet) With(i int) MemberSet {
	if i < 0 || i >= MaxPoolMembers {
		return s
	}
	return s | 1<<uint(i)
}

// Has reports whether member i is in the set.
func (s MemberSet) Has(i int) bool {
	return i >= 0 && i < MaxPoolMembers && s&(1<<uint(i)) != 0
}

// Retrieve returns the credential of the member [Pool.Pick] chooses. It
// implements [Provider].
func (p *Pool) Retrieve(ctx context.Context) (Credential, error) {
	m, err := p.Pick(ctx)
	return m.Credential, err
}

// Refresh implements [Refresher], for a consumer that does not know Pools
// and puts a Cache in front of this one: the member holding rejected is
// rejected ([Pool.Reject]), and the next healthy member's credential is
// returned, or, if there is none, the rejected member's new key once its
// refresh ends.
func (p *Pool) Refresh(ctx context.Context, rejected Credential) (Credential, error) {
	if p.err != nil {
		return Credential{}, p.err
	}
	var tried MemberSet
	var from []Member
	for _, mb := range p.members {
		if cur, ok := mb.cache.held(); ok && cur.Key == rejected.Key {
			m := Member{Index: mb.index, Credential: cur}
			p.Reject(ctx, m)
			tried, from = tried.With(mb.index), append(from, m)
		}
	}
	if m, ok := p.Next(ctx, tried); ok {
		return m.Credential, nil
	}
	errs := make([]error, 0, len(from))
	for _, m := range from {
		fresh, err := p.Await(ctx, m)
		if err == nil {
			return fresh.Credential, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return Credential{}, fmt.Errorf("%w: no member of the pool holds another key", ErrSameKey)
	}
	return Credential{}, errors.Join(errs...)
}

// Pick returns the member to send a request with: the first healthy member
// in order, or with RoundRobin the next healthy one in turn. It takes no
// lock; it waits only as [Cache.Retrieve] does, for a member's first key or
// to replace an expired one. A member whose provider fails is quarantined
// and the next one tried. When every member is out, Pick returns the first
// member holding a key, so that a key refused by mistake is tried again; if
// none holds one, the error lists each member's failure and matches
// [ErrNoCredentials].
func (p *Pool) Pick(ctx context.Context) (Member, error) {
	if p.err != nil {
		return Member{}, p.err
	}
	if !p.roundRobin && len(p.members) > 0 { // the common case: the primary, healthy, its key at hand
		if mb := p.members[0]; mb.state.Load() == nil {
			if cred, ok := mb.cache.ready(); ok {
				return Member{Credential: cred}, nil
			}
		}
	}
	m, ok, err := p.choose(ctx, 0)
	if ok || err != nil {
		return m, err
	}
	return p.fallback()
}

// Next returns a healthy member not in tried, to replay a request with at
// once after the members in tried refused it; ok is false when there is
// none (or ctx ended). It chooses as [Pool.Pick] does.
func (p *Pool) Next(ctx context.Context, tried MemberSet) (m Member, ok bool) {
	if p.err != nil {
		return Member{}, false
	}
	m, ok, _ = p.choose(ctx, tried)
	return m, ok
}

// FailsOver reports whether status is one of PoolOptions.FailoverOn.
func (p *Pool) FailsOver(status int) bool {
	for _, code := range p.failoverOn {
		if code == status {
			return true
		}
	}
	return false
}

// choose returns the first usable member not in skip, in the Pool's order.
// With RoundRobin each look takes a turn, so that requests spread evenly
// over the healthy members even when one is out; a scan of every member
// from the last turn follows, so that a healthy member is always found.
func (p *Pool) choose(ctx context.Context, skip MemberSet) (Member, bool, error) {
	n := len(p.members)
	start := 0
	if p.roundRobin {
		for range n {
			i := p.nextTurn(n)
			start = i
			if skip.Has(i) || !p.usable(p.members[i]) {
				continue
			}
			if cred, ok := p.members[i].cache.ready(); ok {
				return Member{Index: i, Credential: cred}, true, nil
			}
			if m, ok, err := p.take(ctx, p.members[i]); ok || err != nil {
				return m, ok, err
			}
		}
	}
	for j := range n {
		i := start + j
		if i >= n {
			i -= n
		}
		if skip.Has(i) || !p.usable(p.members[i]) {
			continue
		}
		if m, ok, err := p.take(ctx, p.members[i]); ok || err != nil {
			return m, ok, err
		}
	}
	return Member{}, false, nil
}

// nextTurn takes the next round-robin turn among n members. The 32-bit
// remainder is cheaper than a 64-bit one; its wrap, once every 4 billion
// requests, costs one uneven turn.
func (p *Pool) nextTurn(n int) int {
	return int((p.turn.Add(1) - 1) % uint32(n))
}

// take retrieves mb's credential; a member whose provider fails (not ctx)
// is quarantined.
func (p *Pool) take(ctx context.Context, mb *member) (Member, bool, error) {
	cred, err := mb.cache.Retrieve(ctx)
	if err == nil {
		return Member{Index: mb.index, Credential: cred}, true, nil
	}
	if ctx.Err() != nil {
		return Member{}, false, ctx.Err()
	}
	p.quarantineFailed(ctx, mb, err)
	return Member{}, false, nil
}

// fallback is Pick's answer when every member is out: the first that holds
// a key, in the Pool's order.
func (p *Pool) fallback() (Member, error) {
	n := len(p.members)
	start := 0
	if p.roundRobin {
		start = p.nextTurn(n)
	}
	errs := make([]error, 0, n)
	for j := range n {
		mb := p.members[(start+j)%n]
		if cred, ok := mb.cache.held(); ok {
			return Member{Index: mb.index, Credential: cred}, nil
		}
		errs = append(errs, mb.why())
	}
	return Member{}, &noKeyError{errs: errs}
}

// noKeyError is Pick's error when no member of the pool holds a key.
type noKeyError struct{ errs []error }

func (e *noKeyError) Error() string {
	var b strings.Builder
	b.WriteString("credentials: no member of the pool has a key")
	for i, err := range e.errs {
		fmt.Fprintf(&b, "; [%d] %s", i, strings.TrimPrefix(err.Error(), "credentials: "))
	}
	return b.String()
}

func (e *noKeyError) Is(target error) bool { return target == ErrNoCredentials }
func (e *noKeyError) Unwrap() []error      { return e.errs }

// Close stops the Pool's background refreshes and closes the Caches it made
// for its members (a *Cache given as a provider belongs to the caller), and
// waits for them. Later refreshes fail, and the members they were for stay
// out; keys already held are still handed out. Close is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	running := slices.Clone(p.running)
	p.mu.Unlock()
	for _, cancel := range running {
		(*cancel)()
	}
	for _, mb := range p.members {
		if mb.own {
			mb.cache.Close()
		}
	}
	p.bg.Wait()
	return nil
}

// startWork registers a background refresh, so that Close cancels it and
// waits for it; it reports false once the Pool is closed.
func (p *Pool) startWork(cancel *context.CancelFunc) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.bg.Add(1)
	p.running = append(p.running, cancel)
	return true
}

// endWork unregisters a refresh registered by startWork.
func (p *Pool) endWork(cancel *context.CancelFunc) {
	p.mu.Lock()
	if i := slices.Index(p.running, cancel); i >= 0 {
		p.running = slices.Delete(p.running, i, i+1)
	}
	if len(p.running) == 0 {
		p.running = nil
	}
	p.mu.Unlock()
	p.bg.Done()
}

// String describes the pool and each member's state, keys redacted.
func (p *Pool) String() string {
	if p.err != nil {
		return "credentials.Pool{invalid: " + p.err.Error() + "}"
	}
	var b strings.Builder
	b.WriteString("credentials.Pool{")
	if p.roundRobin {
		b.WriteString("round robin")
	} else {
		b.WriteString("primary first")
	}
	for _, mb := range p.members {
		fmt.Fprintf(&b, "; [%d] ", mb.index)
		if cred, ok := mb.cache.held(); ok {
			b.WriteString(Redact(cred.Key))
		} else {
			b.WriteString("no key yet")
		}
		b.WriteString(" ")
		b.WriteString(mb.state.Load().describe())
	}
	b.WriteString("}")
	return b.String()
}

// Format implements fmt.Formatter so that no verb dumps the Pool's fields.
func (p *Pool) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// ready returns the credential Retrieve would return at once, with no
// refresh, poll or wait due: Pick's fast path.
func (c *Cache) ready() (Credential, bool) {
	e := c.current.Load()
	if e == nil || !e.refreshAt.IsZero() && !time.Now().Before(e.refreshAt) {
		return Credential{}, false
	}
	return e.cred, true
}

// held returns the credential the Cache holds, without fetching or
// refreshing one, and starts a poll of its [Poller] if one is due: what a
// Pool reads of a member it is not sending requests with.
func (c *Cache) held() (Credential, bool) {
	e := c.current.Load()
	if e == nil {
		return Credential{}, false
	}
	if !e.pollAt.IsZero() && !time.Now().Before(e.pollAt) {
		c.pollAhead(e)
	}
	return e.cred, true
}
