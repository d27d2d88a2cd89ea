package redisstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// Defaults for the options of [New].
const (
	DefaultPrefix       = "rekey"
	DefaultLease        = 10 * time.Second
	DefaultPollInterval = 250 * time.Millisecond
	DefaultOpTimeout    = time.Second
)

// Option configures a [Store]; pass options to [New].
type Option func(*config) error

type config struct {
	prefix   string
	lease    time.Duration
	maxWait  time.Duration // zero: lease + lease/2
	poll     time.Duration
	opTO     time.Duration
	logger   *slog.Logger
	provider credentials.Provider
}

// WithPrefix sets the prefix of the Redis keys the Store uses:
// "<prefix>:cred" (a hash holding the key, its generation and expiry),
// "<prefix>:lock" (the refresh lock) and the pub/sub channel
// "<prefix>:updates". Every process sharing one API key must use the same
// prefix; processes using different keys must use different prefixes.
// The default is [DefaultPrefix].
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		if prefix == "" {
			return fmt.Errorf("redisstore: WithPrefix: empty prefix")
		}
		c.prefix = prefix
		return nil
	}
}

// WithLease sets how long the refresh lock is held at most. The refresh
// hook is called with a context that ends shortly before the lease does, so
// a living holder never outlasts its lock; a holder that dies stalls the
// other processes for at most the lease. Make it comfortably longer than the
// slowest key minting you expect. The default is [DefaultLease].
func WithLease(d time.Duration) Option {
	return func(c *config) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("redisstore: WithLease(%v): the lease must be at least 100ms", d)
		}
		c.lease = d
		return nil
	}
}

// WithMaxWait bounds how long a refresh waits for another process to
// publish a new key (and to take over the lock when that process's lease
// runs out) before failing with [ErrWaitTimeout]. The default is one and a
// half leases, so that a waiter outlives the lease of a holder that died.
func WithMaxWait(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redisstore: WithMaxWait(%v): must be positive", d)
		}
		c.maxWait = d
		return nil
	}
}

// WithPollInterval sets how often a waiting refresh re-reads Redis when no
// pub/sub notification arrives (the fallback when a message is lost or
// pub/sub is unavailable). The default is [DefaultPollInterval].
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redisstore: WithPollInterval(%v): must be positive", d)
		}
		c.poll = d
		return nil
	}
}

// WithOpTimeout bounds every single Redis call, its retries included: a
// call that fails in a way a failover explains (connection refused or
// reset, CLUSTERDOWN, TRYAGAIN, MASTERDOWN, LOADING, READONLY) is tried
// again, a Cluster client's slot map reloaded, until the bound. A call that
// still fails or times out counts as Redis being unavailable, and the Store
// falls back to the local path. The default is [DefaultOpTimeout]. For the bound to hold
// during a read, create the client with ContextTimeoutEnabled set.
func WithOpTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redisstore: WithOpTimeout(%v): must be positive", d)
		}
		c.opTO = d
		return nil
	}
}

// WithLogger sets where the Store logs its warnings (Redis unavailable, a
// lease that ran out during a refresh). nil means slog.Default(). Log
// records never contain a key.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithProvider sets where the first key comes from when Redis holds none
// yet (an environment variable, a file), and where Retrieve reads when Redis
// is unavailable. Without it, the Store mints the first key through the
// refresh hook, under the lock, once for the fleet.
func WithProvider(p credentials.Provider) Option {
	return func(c *config) error {
		c.provider = p
		return nil
	}
}
