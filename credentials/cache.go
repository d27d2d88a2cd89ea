package credentials

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults for the zero value of [Cache].
const (
	DefaultRefreshAttempts = 4
	DefaultRefreshTimeout  = 30 * time.Second
	DefaultCooldown        = time.Second
	// DefaultRejectedKeyCooldown outlasts the default retries of the common
	// vendor SDKs: openai-go, anthropic-sdk-go and stripe-go retry a failed
	// request twice, the second time within about 2 seconds.
	DefaultRejectedKeyCooldown = 10 * time.Second
	DefaultExpiryWindow        = time.Minute
)

// ErrCacheClosed is returned by a [Cache] used after Close.
var ErrCacheClosed = errors.New("credentials: cache is closed")

// Cache holds the current credential for every goroutine of a process and
// refreshes it at most once at a time. It is what package transport puts in
// front of a Provider, and it is itself a Provider.
//
// Retrieve is lock-free: one atomic load (and, for a credential with an
// expiry or from a [Poller], one clock read). A refresh happens when
//   - there is no credential yet (the first Retrieve),
//   - the API rejected the current one ([Cache.Invalidate]),
//   - the current one has expired (Retrieve blocks), or
//   - it will expire within ExpiryWindow: Retrieve starts a background
//     refresh, jittered so that a fleet does not refresh in lockstep, and
//     keeps returning the current key meanwhile.
//
// Every call to the refresh source gets a context that says why it is made:
// see [RefreshReasonFrom].
//
// When Provider is a [Poller] and Refresh is nil, the Cache also asks it,
// at most once per PollInterval and only while Retrieve is being called,
// whether its source holds a new key (a rotated secret, a replaced file);
// the poll runs in the background and a new key is swapped in for every
// goroutine at once. An idle Cache runs no goroutine and no timer.
//
// However many goroutines ask, one refresh runs (golang.org/x/sync/
// singleflight) and all share its result; each waits only as long as its own
// context allows while the refresh goes on for the others. Transient failures
// are retried with bounded exponential backoff (github.com/cenkalti/backoff/v4);
// an error wrapped with [Permanent], or matching [ErrNoCredentials],
// [ErrMalformedKey] or [ErrSameKey], stops at once. After a failed refresh,
// callers get that failure immediately for Cooldown instead of hammering the
// key endpoint. A key that the API rejects right after a refresh produced it
// ([Cache.ReplayRejected]) counts as such a failure, for the longer
// RejectedKeyCooldown: however often callers (or an SDK's own retries) send
// it again meanwhile, the refresh source is not called again.
//
// The zero value with Provider or Refresh set is ready to use. Set the fields
// before first use and do not change them afterwards. A Cache is safe for
// concurrent use and must not be copied after first use. Call Close to stop
// background refreshes.
type Cache struct {
	// Provider supplies the first credential, and every later one when
	// Refresh is nil (through its Refresh method if it is a [Refresher],
	// else through Retrieve). It may be nil when Refresh is set.
	Provider Provider

	// Refresh, if set, obtains a replacement for a rejected or expiring
	// credential. When Provider is nil it also supplies the first one
	// (called with a zero rejected Credential).
	Refresh RefreshFunc

	// RefreshAttempts bounds the calls to the refresh source per refresh,
	// with exponential backoff between them. Zero means
	// DefaultRefreshAttempts; 1 disables retrying.
	RefreshAttempts int

	// RefreshTimeout bounds one refresh, all attempts included. Zero means
	// DefaultRefreshTimeout.
	RefreshTimeout time.Duration

	// Cooldown is how long a refresh failure is returned to later callers
	// without trying again. Zero means DefaultCooldown; negative disables it.
	Cooldown time.Duration

	// RejectedKeyCooldown is how long a key that the API rejected right
	// after the refresh that produced it ([Cache.ReplayRejected]) stops
	// further refreshes: callers rejected with that key get an error
	// matching [ErrRefreshedKeyRejected] at once. It is longer than Cooldown
	// because the source has just answered with a key the API refuses:
	// asking again at once would, on many APIs, mint (and revoke) key after
	// key, and an SDK that takes the error for a network failure retries it
	// for a few seconds. It holds back only refreshes after a rejection of
	// that key: one ahead of its expiry, or once it has expired, still runs.
	// The price: if a rotation revokes a key in the moment between its
	// refresh and the replay, requests with it fail for this long (or until
	// it expires). Shorten it where keys are revoked more often than every
	// few minutes. Zero means DefaultRejectedKeyCooldown; negative means
	// Cooldown.
	RejectedKeyCooldown time.Duration

	// ExpiryWindow is how long before a credential's Expiry the Cache starts
	// refreshing it in the background. The actual point is jittered down by
	// up to a fifth of the window. Zero means DefaultExpiryWindow; negative
	// disables refreshing ahead (an expired key is still replaced, blocking).
	ExpiryWindow time.Duration

	// OnRefresh, if set, is called at the start and end of every refresh.
	// It must be fast and must not call back into the Cache.
	OnRefresh func(RefreshEvent)

	current atomic.Pointer[entry]
	failed  atomic.Pointer[failure]
	gens    atomic.Uint64
	flights singleflight.Group

	mu      sync.Mutex // guards closed, running and bg.Add against Close
	closed  bool
	running []*context.CancelFunc // cancels the refreshes under way; nil when idle, so that an idle Cache holds nothing for them
	bg      sync.WaitGroup        // refreshes and background goroutines under way
}

// entry is one stored credential. It is immutable but for its flags; a poll
// that finds nothing new stores a successor with the same gen and a later
// pollAt.
type entry struct {
	cred       Credential
	gen        uint64
	refreshAt  time.Time   // the earlier of expireAt and pollAt: Retrieve's one comparison; zero: never
	expireAt   time.Time   // start refreshing ahead of expiry from here; zero: never
	pollAt     time.Time   // poll the Provider from here; zero: never
	refreshing atomic.Bool // a background refresh is under way
	polling    atomic.Bool // a poll of this entry was started (never reset: the next one polls a successor)
}

// failure is the outcome of a failed refresh of generation gen.
type failure struct {
	gen         uint64
	err         error
	at          time.Time
	rejectedKey bool // from ReplayRejected: cools down for RejectedKeyCooldown

	// nextAhead is when a refresh ahead of expiry may be tried again after
	// this failure of one: a quarter of the key's remaining life later (at
	// least Cooldown), so that a source with nothing new yet (a secret store
	// nobody rotated) is asked a dozen times over the window, not once per
	// Cooldown. It holds back only refreshes ahead: a rejected or expired
	// key is refreshed as soon as Cooldown allows.
	nextAhead time.Time
}

// Retrieve returns the current credential, fetching the first one or
// replacing an expired one if needed. It implements [Provider].
func (c *Cache) Retrieve(ctx context.Context) (Credential, error) {
	e := c.current.Load()
	if e != nil {
		if e.refreshAt.IsZero() {
			return e.cred, nil
		}
		now := time.Now()
		if now.Before(e.refreshAt) {
			return e.cred, nil
		}
		return c.due(ctx, e, now)
	}
	e, err := c.replace(ctx, nil, ReasonInitial)
	if err != nil {
		return Credential{}, err
	}
	return e.cred, nil
}

// due handles a Retrieve at or past e.refreshAt: it starts a poll if one is
// due, and refreshes ahead of expiry or, once expired, blocks for a new key.
func (c *Cache) due(ctx context.Context, e *entry, now time.Time) (Credential, error) {
	if !e.pollAt.IsZero() && !now.Before(e.pollAt) {
		c.pollAhead(e)
	}
	if e.expireAt.IsZero() || now.Before(e.expireAt) {
		return e.cred, nil
	}
	if now.Before(e.cred.Expiry) {
		c.refreshAhead(e)
		return e.cred, nil
	}
	e, err := c.replace(ctx, e, ReasonExpired)
	if err != nil {
		return Credential{}, err
	}
	return e.cred, nil
}

// Invalidate reports that the API rejected the credential rejected and
// returns its replacement. If the Cache already holds a different credential
// (another goroutine refreshed it meanwhile), that one is returned without a
// new refresh; otherwise one refresh runs for all callers. A refresh that
// yields the rejected key again is a failure. The error wraps the refresh
// source's error, or is ctx.Err() if ctx ends first.
func (c *Cache) Invalidate(ctx context.Context, rejected Credential) (Credential, error) {
	e := c.current.Load()
	if e != nil && e.cred.Key != rejected.Key {
		return e.cred, nil
	}
	reason := ReasonRejected
	if e == nil {
		reason = ReasonInitial
	}
	e, err := c.replace(ctx, e, reason)
	if err != nil {
		return Credential{}, err
	}
	return e.cred, nil
}

// ReplayRejected reports that the API rejected cred, the credential that
// [Cache.Invalidate] had just returned, when the request whose rejection
// caused the refresh was replayed with it: the refresh did not help. If cred
// is still the current credential, this counts as a failed refresh of it:
// for RejectedKeyCooldown, Invalidate(ctx, cred) returns an error matching
// [ErrRefreshedKeyRejected] at once, without calling the refresh source.
// After that, the next rejection refreshes again; a refresh ahead of cred's
// expiry, or once it has expired, is not held back. ReplayRejected neither blocks
// nor calls the refresh source; for a credential the Cache no longer holds
// it does nothing. transport.Transport calls it; other callers rarely need
// to.
func (c *Cache) ReplayRejected(cred Credential) {
	e := c.current.Load()
	if e == nil || e.cred.Key != cred.Key {
		return
	}
	c.failed.Store(&failure{gen: e.gen, err: ErrRefreshedKeyRejected, at: time.Now(), rejectedKey: true})
}

// Close stops background refreshes and waits for them to return. Later
// refreshes fail with [ErrCacheClosed]; a credential already held is still
// returned by Retrieve until it expires. Close is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	running := slices.Clone(c.running)
	c.mu.Unlock()
	for _, cancel := range running {
		(*cancel)()
	}
	c.bg.Wait()
	return nil
}

// isClosed reports whether Close has been called.
func (c *Cache) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// track registers a refresh or background goroutine, so that Close waits
// for it; it reports false once the Cache is closed.
func (c *Cache) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.bg.Add(1)
	return true
}

// startRefresh registers a refresh, so that Close cancels it with cancel
// and waits for it; it reports false once the Cache is closed. A Cache
// keeps no context of its own for this: one per Cache, with the refreshes
// registered on it, would cost an idle Cache a few hundred bytes, and a
// process may hold many (one per tenant's key).
func (c *Cache) startRefresh(cancel *context.CancelFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.bg.Add(1)
	c.running = append(c.running, cancel)
	return true
}

// endRefresh unregisters a refresh registered by startRefresh.
func (c *Cache) endRefresh(cancel *context.CancelFunc) {
	c.mu.Lock()
	if i := slices.Index(c.running, cancel); i >= 0 {
		c.running = slices.Delete(c.running, i, i+1)
	}
	if len(c.running) == 0 {
		c.running = nil
	}
	c.mu.Unlock()
	c.bg.Done()
}

// replace runs (or joins) the one refresh that replaces old (nil: none yet)
// and waits for it as long as ctx allows.
func (c *Cache) replace(ctx context.Context, old *entry, reason RefreshReason) (*entry, error) {
	var gen uint64
	if old != nil {
		gen = old.gen
	}
	ch := c.flights.DoChan(strconv.FormatUint(gen, 10), func() (any, error) {
		return c.refresh(ctx, old, reason)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*entry), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refreshAhead starts a background refresh of e unless one is under way or
// a recent one failed.
func (c *Cache) refreshAhead(e *entry) {
	if f := c.failed.Load(); f != nil && f.gen == e.gen && (c.holdsBack(f, ReasonExpiring) || time.Now().Before(f.nextAhead)) {
		return
	}
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	if !c.track() {
		e.refreshing.Store(false)
		return
	}
	go func() {
		defer c.bg.Done()
		defer e.refreshing.Store(false)
		// Close cancels the refresh itself, which ends this wait too.
		c.replace(context.Background(), e, ReasonExpiring) //nolint:errcheck // recorded in c.failed and reported through OnRefresh
	}()
}

// refresh is the body of a flight: it runs once per generation however many
// goroutines asked. It is detached from the first caller's cancellation (the
// others still wait for it) but bounded by RefreshTimeout and by Close.
func (c *Cache) refresh(callerCtx context.Context, old *entry, reason RefreshReason) (*entry, error) {
	var gen uint64
	var rejected Credential
	if old != nil {
		gen, rejected = old.gen, old.cred
	}
	if cur := c.current.Load(); cur != nil && cur.gen != gen {
		return cur, nil // replaced while this caller was on its way
	}
	if f := c.failed.Load(); f != nil && f.gen == gen && c.holdsBack(f, reason) {
		return nil, f.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(callerCtx), c.refreshTimeout())
	defer cancel()
	if !c.startRefresh(&cancel) {
		return nil, ErrCacheClosed
	}
	defer c.endRefresh(&cancel)          // Close waits for this refresh, OnRefresh included
	ctx = WithRefreshReason(ctx, reason) // for RefreshReasonFrom in the source

	id := refreshIDs.Add(1)
	c.notify(RefreshEvent{Phase: RefreshStarted, Reason: reason, ID: id, Context: ctx})
	start := time.Now()
	cred, attempts, err := c.fetch(ctx, rejected, reason)
	ev := RefreshEvent{Reason: reason, Attempts: attempts, Duration: time.Since(start), ID: id, Context: ctx}
	if err != nil {
		if c.isClosed() {
			err = fmt.Errorf("%w: %w", ErrCacheClosed, err)
		}
		f := &failure{gen: gen, err: err, at: time.Now()}
		if reason == ReasonExpiring {
			f.nextAhead = f.at.Add(max(c.cooldown(), rejected.Expiry.Sub(f.at)/4))
		}
		c.failed.Store(f)
		ev.Phase, ev.Err = RefreshFailed, err
		c.notify(ev)
		return nil, err
	}
	e := c.newEntry(cred)
	c.current.Store(e)
	ev.Phase, ev.Expiry = RefreshSucceeded, cred.Expiry
	c.notify(ev)
	return e, nil
}

// newEntry makes the entry for a new credential, with its refresh and poll
// points.
func (c *Cache) newEntry(cred Credential) *entry {
	e := &entry{cred: cred, gen: c.gens.Add(1), expireAt: c.refreshPoint(cred)}
	e.pollAt = c.nextPoll()
	e.refreshAt = earliest(e.expireAt, e.pollAt)
	return e
}

// earliest returns the earlier of two points, a zero one meaning never.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// refreshPoint picks when to start refreshing cred ahead of its expiry:
// ExpiryWindow before it, minus up to a fifth of the window at random.
func (c *Cache) refreshPoint(cred Credential) time.Time {
	if cred.Expiry.IsZero() {
		return time.Time{}
	}
	w := c.ExpiryWindow
	if w == 0 {
		w = DefaultExpiryWindow
	}
	if w < 0 {
		return cred.Expiry
	}
	if life := time.Until(cred.Expiry); w > life/2 {
		w = life / 2 // a short-lived key is refreshed halfway, not at once
	}
	if w > 0 {
		w += rand.N(w/5 + 1)
	}
	return cred.Expiry.Add(-w)
}

// cooldown is Cooldown, its default applied.
func (c *Cache) cooldown() time.Duration {
	if c.Cooldown == 0 {
		return DefaultCooldown
	}
	return c.Cooldown
}

// holdsBack reports whether the failure f of a generation still answers a
// refresh of it for reason instead of a call to the source. A key rejected
// right after its refresh holds back only refreshes after a rejection, for
// RejectedKeyCooldown: once it expires, or ahead of that, it is replaced as
// any key is.
func (c *Cache) holdsBack(f *failure, reason RefreshReason) bool {
	d := c.cooldown()
	if f.rejectedKey {
		if reason != ReasonRejected {
			return false
		}
		switch {
		case c.RejectedKeyCooldown > 0:
			d = c.RejectedKeyCooldown
		case c.RejectedKeyCooldown == 0:
			d = DefaultRejectedKeyCooldown
		}
	}
	return d > 0 && time.Since(f.at) < d
}

func (c *Cache) refreshTimeout() time.Duration {
	if c.RefreshTimeout > 0 {
		return c.RefreshTimeout
	}
	return DefaultRefreshTimeout
}

func (c *Cache) notify(ev RefreshEvent) {
	if c.OnRefresh != nil {
		c.OnRefresh(ev)
	}
}

// String describes the cache without printing its credential.
func (c *Cache) String() string {
	if e := c.current.Load(); e != nil {
		return "credentials.Cache{" + e.cred.String() + "}"
	}
	return "credentials.Cache{empty}"
}

// Format implements fmt.Formatter so that no verb dumps the Cache's fields.
func (c *Cache) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }
