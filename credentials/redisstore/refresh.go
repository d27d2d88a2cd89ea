package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
)

// Refresh replaces the rejected credential for the whole fleet and returns
// its replacement. It implements [credentials.Refresher].
//
// If Redis already holds a key other than rejected (another process
// refreshed first), that key is returned and nothing is minted. Otherwise
// Refresh takes the lock "<prefix>:lock" (SET NX PX with a random token and
// the lease), reads the stored key again, and only if it is still the
// rejected one calls the refresh hook; it stores the new key as the next
// generation (a compare-and-set on the generation), announces it on
// "<prefix>:updates", and releases the lock (only if the token still holds
// it). A process that does not get the lock waits for the announcement,
// re-reading Redis every poll interval in case a message is lost and trying
// the lock again in case its holder died; it gives up with [ErrWaitTimeout]
// after the maximum wait. rejected may be the zero Credential: the first
// key is then minted once for the fleet.
//
// For a refresh ahead of or after the key's expiry (the reason a
// [credentials.Cache] puts in ctx, see [credentials.RefreshReasonFrom], is
// expiring or expired), a stored key that is the same as rejected but
// expires later also counts as a replacement: on an API that extends keys
// rather than replacing them, the first process to reach the expiry extends
// the key through the hook and stores the new expiry, and the others take it
// from Redis without calling the hook. After a rejection, only a different
// key does: the rejected key is refused, whatever its expiry says.
//
// If Redis is unavailable, Refresh logs a warning and calls the refresh hook
// directly, as a Store-less process would. Errors of the hook are returned
// as they are, so that a [credentials.Permanent] one stays permanent. The
// hook's context carries the reason ctx carried.
func (s *Store) Refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	cred, err := s.coordinate(ctx, rejected)
	var down *unavailableError
	if !errors.As(err, &down) {
		return cred, err
	}
	s.warn("Redis unavailable: refreshing locally; other processes may mint keys of their own", down.err)
	return s.refresh(ctx, rejected)
}

// unavailableError marks a failure of Redis itself (as opposed to ctx ending
// or the hook failing): the cue for falling back to the local path.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// failure classifies an error of a Redis call made under ctx.
func failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &unavailableError{err}
}

// forExpiry reports whether ctx is that of a refresh for the key's expiry
// rather than for a rejection.
func forExpiry(ctx context.Context) bool {
	reason, ok := credentials.RefreshReasonFrom(ctx)
	return ok && (reason == credentials.ReasonExpiring || reason == credentials.ReasonExpired)
}

// newer reports whether the stored credential replaces old: a key that has
// not expired and is either different or, for a refresh for expiry
// (extend), the same key with a later expiry.
func newer(cur, old credentials.Credential, extend bool) bool {
	if cur.Key == "" || cur.Expired() {
		return false
	}
	if cur.Key != old.Key {
		return true
	}
	return extend && !cur.Expiry.IsZero() && cur.Expiry.After(old.Expiry)
}

// coordinate runs the lock-and-generation protocol described on Refresh,
// without the fallback.
func (s *Store) coordinate(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	deadline := time.Now().Add(s.cfg.maxWait)
	extend := forExpiry(ctx)
	var (
		ps         *redis.PubSub
		msgs       <-chan *redis.Message
		subscribed bool
	)
	defer func() {
		if ps != nil {
			ps.Close()
		}
	}()
	for {
		cur, err := s.load(ctx)
		if err != nil {
			return credentials.Credential{}, failure(ctx, err)
		}
		if newer(cur.cred, rejected, extend) {
			return cur.cred, nil
		}
		token := newToken()
		ok, err := s.lock(ctx, token)
		if err != nil {
			return credentials.Credential{}, failure(ctx, err)
		}
		if ok {
			return s.mint(ctx, rejected, token)
		}
		if !subscribed {
			// Subscribe once, then read again at once: a key stored
			// between the read above and the subscription sends no
			// message this waiter can see.
			subscribed = true
			if ps = s.subscribe(ctx); ps != nil {
				msgs = ps.Channel()
			}
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return credentials.Credential{}, fmt.Errorf("%w (waited %v; prefix %q)", ErrWaitTimeout, s.cfg.maxWait, s.cfg.prefix)
		}
		timer := time.NewTimer(min(s.cfg.poll, left))
		select {
		case _, open := <-msgs:
			if !open {
				msgs = nil // poll from now on
			}
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return credentials.Credential{}, ctx.Err()
		}
		timer.Stop()
	}
}

// mint runs under the lock held with token: it re-checks the stored
// generation, calls the refresh hook if the rejected key is still current,
// and stores the result.
func (s *Store) mint(ctx context.Context, rejected credentials.Credential, token string) (credentials.Credential, error) {
	acquired := time.Now()
	extend := forExpiry(ctx)
	released := false
	defer func() {
		if !released {
			s.unlock(ctx, token) //nolint:errcheck // the lease expires the lock anyway
		}
	}()
	cur, err := s.load(ctx)
	if err != nil {
		return credentials.Credential{}, failure(ctx, err)
	}
	if newer(cur.cred, rejected, extend) {
		return cur.cred, nil // stored by the previous holder after this one's first read
	}
	old := rejected
	if cur.cred.Key != "" {
		old = cur.cred
	}
	margin := min(s.cfg.lease/10, time.Second)
	hookCtx, cancel := context.WithDeadline(ctx, acquired.Add(s.cfg.lease-margin))
	cred, err := s.refresh(hookCtx, old)
	cancel()
	if err != nil {
		return credentials.Credential{}, err
	}
	if err := credentials.Validate(cred.Key); err != nil {
		return credentials.Credential{}, fmt.Errorf("redisstore: the refresh hook returned a bad key: %w", err)
	}

	// The key is minted (and, on many APIs, the old one revoked): store it
	// even if ctx has ended meanwhile.
	bg := context.WithoutCancel(ctx)
	saved, err := s.save(bg, cur.gen, cred)
	if err != nil {
		s.warn("could not store the new key: other processes will refresh on their own", err)
		return cred, nil
	}
	held, err := s.unlock(bg, token)
	released = true
	if err == nil && !held {
		s.log.Warn("redisstore: the lock's lease ran out during the refresh: raise WithLease above the refresh hook's duration",
			slog.Duration("lease", s.cfg.lease), slog.Duration("took", time.Since(acquired)))
	}
	if !saved {
		// Another holder stored a key after this one's lease ran out.
		// Agree with the fleet rather than keep a key of our own.
		if now, err := s.load(bg); err == nil && newer(now.cred, rejected, extend) {
			s.log.Warn("redisstore: another process stored a new key during this refresh; using it",
				slog.Int64("generation", now.gen))
			return now.cred, nil
		}
	}
	return cred, nil
}
