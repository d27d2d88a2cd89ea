package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RefreshReason says why a [Cache] refreshed its credential.
type RefreshReason int

// Reasons for a refresh.
const (
	ReasonInitial  RefreshReason = iota // no credential yet
	ReasonRejected                      // the API rejected the current one
	ReasonExpiring                      // it expires soon (background refresh)
	ReasonExpired                       // it has expired
	ReasonChanged                       // a [Poller] found a new key in its source
)

// String names the reason: "initial", "rejected", "expiring", "expired" or
// "changed".
func (r RefreshReason) String() string {
	switch r {
	case ReasonInitial:
		return "initial"
	case ReasonRejected:
		return "rejected"
	case ReasonExpiring:
		return "expiring"
	case ReasonExpired:
		return "expired"
	case ReasonChanged:
		return "changed"
	}
	return "unknown"
}

// RefreshPhase is the stage of a refresh reported by [RefreshEvent].
type RefreshPhase int

// Phases of a refresh.
const (
	RefreshStarted RefreshPhase = iota
	RefreshSucceeded
	RefreshFailed
)

// String names the phase: "started", "succeeded" or "failed".
func (p RefreshPhase) String() string {
	switch p {
	case RefreshStarted:
		return "started"
	case RefreshSucceeded:
		return "succeeded"
	case RefreshFailed:
		return "failed"
	}
	return "unknown"
}

// RefreshEvent describes one stage of a refresh, for logs and metrics. It
// carries no key.
type RefreshEvent struct {
	Phase    RefreshPhase
	Reason   RefreshReason
	Attempts int           // calls made to the refresh source (when finished)
	Duration time.Duration // time the refresh took (when finished)
	Expiry   time.Time     // the new credential's expiry (on success; zero: unknown)
	Err      error         // why it failed (on failure)

	// ID identifies the refresh: its started event and its succeeded or
	// failed event carry the same ID, which no other refresh in the process
	// has (across every Cache), so that a tracer can pair them even when
	// refreshes overlap. IDs start at 1.
	ID uint64

	// Context is the context the refresh runs in: that of the caller whose
	// request started it (its values, such as a trace span, without its
	// cancellation), or a background context for a refresh ahead of
	// expiry. A tracer can start the refresh's span from it. It is not
	// for cancelling anything.
	Context context.Context
}

// refreshIDs numbers refreshes for RefreshEvent.ID, process-wide.
var refreshIDs atomic.Uint64

// Permanent marks err as not worth retrying: a [Cache] stops refreshing at
// once and reports it. Use it in a RefreshFunc for failures such as an
// invalid account secret. errors.Is and errors.As see through the mark.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return backoff.Permanent(err)
}

// ErrSameKey is matched by the error of a refresh whose source returned the
// very key the API had just rejected: re-reading the source did not help,
// so rotate the key where it is stored (or give the transport a RefreshFunc
// that mints one).
//
// It is a deterministic failure: the Cache does not retry it with backoff,
// since asking the same source again at once yields the same key.
var ErrSameKey = errors.New("credentials: refresh returned the rejected key again")

// ErrRefreshedKeyRejected is matched by the error a [Cache] returns, for
// RejectedKeyCooldown, to a caller whose key the API rejected although that key came
// from a refresh that the API had already rejected on the replay (see
// [Cache.ReplayRejected]): the refresh ran once and did not help, so the
// Cache does not call the refresh source again until RejectedKeyCooldown has
// passed.
var ErrRefreshedKeyRejected = errors.New("credentials: refreshed once, the new key was rejected too")

// fetch calls the refresh source, retrying transient failures with bounded
// exponential backoff. It returns the credential, the number of calls made,
// and the last error.
func (c *Cache) fetch(ctx context.Context, rejected Credential, reason RefreshReason) (Credential, int, error) {
	attempts := c.RefreshAttempts
	if attempts <= 0 {
		attempts = DefaultRefreshAttempts
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(2*time.Second),
		backoff.WithMaxElapsedTime(0), // bounded by attempts and ctx instead
	)
	calls := 0
	op := func() (Credential, error) {
		calls++
		cred, err := c.fetchOnce(ctx, rejected, reason)
		if err == nil {
			return cred, nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrMalformedKey) || errors.Is(err, ErrSameKey) {
			return Credential{}, backoff.Permanent(err)
		}
		return Credential{}, err
	}
	cred, err := backoff.RetryWithData(op, backoff.WithContext(backoff.WithMaxRetries(b, uint64(attempts-1)), ctx))
	if err != nil {
		if calls > 1 {
			err = fmt.Errorf("credentials: refresh failed after %d attempts: %w", calls, err)
		}
		return Credential{}, calls, err
	}
	return cred, calls, nil
}

// fetchOnce makes one call to the refresh source and checks its result.
func (c *Cache) fetchOnce(ctx context.Context, rejected Credential, reason RefreshReason) (Credential, error) {
	var cred Credential
	var err error
	var source string
	switch {
	case reason == ReasonInitial && c.Provider != nil:
		source = "provider"
		cred, err = c.Provider.Retrieve(ctx)
	case c.Refresh != nil:
		source = "refresh hook"
		cred, err = c.Refresh(ctx, rejected)
	case c.Provider == nil:
		return Credential{}, Permanent(unavailable("the Cache has neither a Provider nor a Refresh function", nil))
	default:
		if r, ok := c.Provider.(Refresher); ok && reason != ReasonInitial {
			source = "provider refresh"
			cred, err = r.Refresh(ctx, rejected)
		} else {
			source = "provider"
			cred, err = c.Provider.Retrieve(ctx)
		}
	}
	if err != nil {
		return Credential{}, err
	}
	if err := validateFrom(source, cred.Key); err != nil {
		return Credential{}, err
	}
	switch reason {
	case ReasonRejected:
		if cred.Key == rejected.Key {
			return Credential{}, ErrSameKey
		}
	case ReasonExpiring, ReasonExpired:
		if cred.Key == rejected.Key && !cred.Expiry.After(rejected.Expiry) {
			return Credential{}, fmt.Errorf("credentials: refresh ahead of expiry returned the same key with no later expiry (%s)", rejected.Expiry.Format(time.RFC3339))
		}
	}
	if cred.Expired() {
		return Credential{}, fmt.Errorf("credentials: %s returned a key that expired at %s: check the source's clock or TTL", source, cred.Expiry.Format(time.RFC3339))
	}
	return cred, nil
}
