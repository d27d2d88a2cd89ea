package credentials

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Poller is implemented by a Provider whose source can change without the API
// rejecting the key: a secret store after a rotation, a file replaced by a
// Kubernetes secret update. A [Cache] in front of a Poller (with no Refresh
// function of its own) asks it, at most once per PollInterval and only while
// the key is in use (lazily, from Retrieve, in the background: no goroutine
// and no timer while the Cache is idle), whether the key changed, and swaps a
// changed key in for every goroutine at once (single-flight with refreshes).
//
// Polling is what lets a planned rotation cost no rejected request: if the
// old key stays valid for longer than PollInterval after the new one is in
// the source, every process that is using the key picks up the new one
// before the old one is revoked. A process that was idle meanwhile uses the
// old key once more and, if it was revoked, recovers through the usual
// rejection path.
type Poller interface {
	Provider
	// PollInterval is how often the Cache checks; zero or negative turns
	// polling off.
	PollInterval() time.Duration
	// Poll reports the source's current credential and whether it differs
	// from current. It should be as cheap as the source allows (a stat, a
	// version number) and must not return an error for "unchanged". An
	// error is reported through the Cache's OnRefresh (Reason ReasonChanged,
	// Phase RefreshFailed) and the current key stays in use; the next poll
	// is a full interval later. A changed key is checked like a refreshed
	// one ([Validate], not expired); one equal to current (key and expiry)
	// is ignored. Judge "changed" against current rather than only against
	// the last version seen, so that a key the Cache did not take (the
	// Cache was closed, or a concurrent refresh won) is offered again.
	Poll(ctx context.Context, current Credential) (cred Credential, changed bool, err error)
}

// poller returns the Provider to poll and its interval, or nil when the Cache
// does not poll: the Provider is not a Poller, or a Refresh function (whose
// keys the Provider does not know) replaces the key.
func (c *Cache) poller() (Poller, time.Duration) {
	p, ok := c.Provider.(Poller)
	if !ok || c.Refresh != nil {
		return nil, 0
	}
	d := p.PollInterval()
	if d <= 0 {
		return nil, 0
	}
	return p, d
}

// nextPoll is when a credential stored now is polled for; zero: never.
func (c *Cache) nextPoll() time.Time {
	if _, d := c.poller(); d > 0 {
		return time.Now().Add(d)
	}
	return time.Time{}
}

// pollAhead starts the one background poll of e, unless it was started
// already or the Cache is closed.
func (c *Cache) pollAhead(e *entry) {
	if e.polling.Load() || !e.polling.CompareAndSwap(false, true) {
		return
	}
	p, _ := c.poller()
	if p == nil {
		return
	}
	if !c.track() {
		return
	}
	go func() {
		defer c.bg.Done()
		c.poll(p, e)
	}()
}

// poll asks p whether its key changed since e, swaps a changed key in, and
// otherwise schedules the next poll a full interval from now. Only a change
// or a failure is reported through OnRefresh.
func (c *Cache) poll(p Poller, e *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), c.refreshTimeout())
	defer cancel()
	if !c.startRefresh(&cancel) { // Close cancels the poll and waits for it
		return
	}
	defer c.endRefresh(&cancel)
	start := time.Now()
	cred, changed, err := p.Poll(ctx, e.cred)
	if c.isClosed() {
		return // closed meanwhile: no swap, and a poll cut short is no failure
	}
	if err == nil && changed && !sameCredential(cred, e.cred) {
		if err = c.checkPolled(cred); err == nil {
			c.adopt(e, cred, start) // on success the CompareAndSwap below fails, as it should
		}
	}
	if err != nil {
		// A failed poll has no started event: it is reported whole, with an
		// ID of its own, like a refresh that started and failed at once.
		c.notify(RefreshEvent{Phase: RefreshFailed, Reason: ReasonChanged, Attempts: 1, Duration: time.Since(start), Err: err, ID: refreshIDs.Add(1), Context: context.Background()})
	}
	next := &entry{cred: e.cred, gen: e.gen, expireAt: e.expireAt, pollAt: c.nextPoll()}
	next.refreshAt = earliest(next.expireAt, next.pollAt)
	c.current.CompareAndSwap(e, next) // lost to a refresh: that entry has its own schedule
}

// checkPolled applies to a polled key the checks a refreshed one gets.
func (c *Cache) checkPolled(cred Credential) error {
	if err := validateFrom("provider poll", cred.Key); err != nil {
		return err
	}
	if cred.Expired() {
		return fmt.Errorf("credentials: provider poll returned a key that expired at %s: check the source's clock or TTL", cred.Expiry.Format(time.RFC3339))
	}
	return nil
}

// adopt swaps cred in for e, as the flight of e's generation: a refresh of
// that generation under way (after a rejection, say) is joined instead, so
// that a key changes once however it was found.
func (c *Cache) adopt(e *entry, cred Credential, start time.Time) {
	ch := c.flights.DoChan(strconv.FormatUint(e.gen, 10), func() (any, error) {
		if cur := c.current.Load(); cur != nil && (cur.gen != e.gen || c.isClosed()) {
			return cur, nil // replaced meanwhile, or closed
		}
		id := refreshIDs.Add(1)
		c.notify(RefreshEvent{Phase: RefreshStarted, Reason: ReasonChanged, ID: id, Context: context.Background()})
		n := c.newEntry(cred)
		c.current.Store(n)
		c.notify(RefreshEvent{Phase: RefreshSucceeded, Reason: ReasonChanged, Attempts: 1, Duration: time.Since(start), Expiry: cred.Expiry, ID: id, Context: context.Background()})
		return n, nil
	})
	<-ch // a joined refresh is bounded by RefreshTimeout and Close
}

func sameCredential(a, b Credential) bool {
	return a.Key == b.Key && a.Expiry.Equal(b.Expiry)
}
