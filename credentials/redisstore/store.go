package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
)

// ErrWaitTimeout is matched (with errors.Is) by the error of a refresh that
// waited the maximum time (see [WithMaxWait]) for another process to publish
// a new key, without one arriving and without getting the lock itself. It is
// not permanent: a [credentials.Cache] retries it.
var ErrWaitTimeout = errors.New("redisstore: timed out waiting for another process to refresh the key")

// Store shares one API key among the processes of a fleet through Redis, so
// that when the key is rejected exactly one process mints a new one and
// every process picks it up.
//
// A Store is a [credentials.Provider] (Retrieve reads the current key from
// Redis) and a [credentials.Refresher] (Refresh replaces a rejected key,
// once for the fleet, through the refresh hook given to [New]). Put a
// [credentials.Cache] in front of it, directly or through
// transport.Transport{Credentials: store}: the Cache coalesces the
// goroutines of one process, the Store coalesces the processes.
//
// When Redis cannot be reached, a Store logs a warning and falls back to the
// local path: Retrieve reads the provider from [WithProvider] (or mints),
// Refresh calls the refresh hook directly. No call waits longer than its
// context, the per-call timeout ([WithOpTimeout]) and the maximum wait
// ([WithMaxWait]) allow.
//
// A Store is safe for concurrent use. It never prints or logs a key.
type Store struct {
	client  redis.UniversalClient
	refresh credentials.RefreshFunc
	cfg     config
	log     *slog.Logger

	credKey string // hash: key, gen, expiry
	lockKey string // string: the lock holder's token
	channel string // pub/sub: the generation just stored
}

// New returns a Store that keeps the shared key in client under the
// configured prefix and mints new keys with refresh, the real refresh hook
// (for example one that calls the API's key endpoint with an account
// secret). refresh is called by at most one process at a time, with a
// context that ends before the lock's lease does; it should honour it.
func New(client redis.UniversalClient, refresh credentials.RefreshFunc, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: New: nil Redis client")
	}
	if refresh == nil {
		return nil, errors.New("redisstore: New: nil refresh hook: the Store needs a RefreshFunc that mints keys")
	}
	cfg := config{
		prefix: DefaultPrefix,
		lease:  DefaultLease,
		poll:   DefaultPollInterval,
		opTO:   DefaultOpTimeout,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.maxWait == 0 {
		cfg.maxWait = cfg.lease + cfg.lease/2
	}
	log := cfg.logger
	if log == nil {
		log = slog.Default()
	}
	return &Store{
		client:  client,
		refresh: refresh,
		cfg:     cfg,
		log:     log.With(slog.String("component", "redisstore"), slog.String("prefix", cfg.prefix)),
		credKey: cfg.prefix + ":cred",
		lockKey: cfg.prefix + ":lock",
		channel: cfg.prefix + ":updates",
	}, nil
}

// Retrieve returns the key the fleet currently shares. When Redis holds
// none yet, it returns the provider's key ([WithProvider]) or, without a
// provider, has one process mint the first key for all; when the stored key
// has expired, it refreshes it as [Store.Refresh] does. When Redis is
// unavailable it logs a warning and reads the provider, or mints locally.
func (s *Store) Retrieve(ctx context.Context) (credentials.Credential, error) {
	cur, err := s.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return credentials.Credential{}, ctx.Err()
		}
		if s.cfg.provider != nil {
			s.warn("Redis unavailable: reading the local provider", err)
			return s.cfg.provider.Retrieve(ctx)
		}
		s.warn("Redis unavailable: minting a key locally", err)
		return s.refresh(ctx, credentials.Credential{})
	}
	switch {
	case cur.cred.Key != "" && !cur.cred.Expired():
		return cur.cred, nil
	case cur.cred.Key == "" && s.cfg.provider != nil:
		return s.cfg.provider.Retrieve(ctx)
	case cur.cred.Key != "":
		// The stored key has expired: refresh it for its expiry, so that
		// the hook (and a Store extending keys) knows why.
		return s.Refresh(credentials.WithRefreshReason(ctx, credentials.ReasonExpired), cur.cred)
	}
	return s.Refresh(ctx, cur.cred)
}

// String describes the Store by its prefix; it never contains a key.
func (s *Store) String() string {
	return fmt.Sprintf("redisstore.Store{Prefix: %q}", s.cfg.prefix)
}

// Format implements fmt.Formatter so that no verb dumps the Store's fields.
func (s *Store) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue implements slog.LogValuer: structured logs get the prefix only.
func (s *Store) LogValue() slog.Value {
	return slog.GroupValue(slog.String("prefix", s.cfg.prefix))
}

func (s *Store) warn(msg string, err error) {
	s.log.Warn("redisstore: "+msg, slog.String("err", err.Error()))
}
