package grpcrekey

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/rekeyhq/rekey/credentials"
)

// Credentials authenticates a gRPC client's calls with an API key and
// recovers when the server rejects it. Build it with [New]; hand
// [Credentials.DialOptions] to grpc.NewClient; Close it after the
// connection.
//
// For each call it takes the current key from a [credentials.Cache]
// (lock-free) and sends it as per-call metadata, by default
// "authorization: Bearer <key>". When the call fails with the invalid-key
// rejection (see [WithRejection]), it refreshes the key once for all calls
// that saw the same rejection and replays the call once with the new key; a
// stream is replayed only when no response message had arrived (see
// [WithStreamReplayLimit]). What recovery cannot fix is returned as an
// [*Error], which matches rekey.ErrInvalidAPIKey and keeps the server's
// gRPC status. When the replay is rejected too, the Cache holds the new key
// back from another refresh for its RejectedKeyCooldown.
//
// With a [credentials.Pool] (several keys for the API), each call takes the
// key of the member the Pool picks (lock-free too), and a call whose
// member's key is rejected is replayed at once with the next healthy
// member, while the rejected member is refreshed in the background, once
// however many calls saw it: see [New] and docs/pools.md.
//
// Security: the key is sent only over a connection with transport security
// (TLS, ALTS: credentials.PrivacyAndIntegrity), to a loopback address or
// over a Unix socket, unless [WithInsecureTransport] is given; otherwise the
// call fails before anything is sent, with an error matching
// rekey.ErrInsecureRequest.
//
// Credentials is safe for concurrent use, by any number of connections.
type Credentials struct {
	cache     *credentials.Cache
	pool      *credentials.Pool // instead of cache, when the provider is a Pool
	ownCache  bool
	unobserve func() // stops the hooks' and logger's registration with the Pool
	cfg       config
	obs       observer
	memo      atomic.Pointer[keyed]   // the current key's metadata, built once per key
	memos     []atomic.Pointer[keyed] // with a pool: one per member, so that round robin builds none per call
}

// New returns Credentials that take keys from p: a provider such as
// credentials.Env, credentials.File or a secret store, which the
// Credentials put behind a credentials.Cache of their own; a
// *credentials.Cache to share with other clients (then configure refreshing
// on the Cache, and Close does not close it); or a *credentials.Pool of
// several keys, between which the Credentials fail over as rekey's HTTP
// transport does (the Pool belongs to the caller too: close it after the
// Credentials). It fails on a missing provider, a bad option or a Pool
// given with [WithRefresh] (give a member its own refresh with a
// *credentials.Cache as its provider), saying which.
func New(p credentials.Provider, opts ...Option) (*Credentials, error) {
	cfg := config{mdKey: DefaultMetadataKey, streamLimit: DefaultStreamReplayLimit}
	var errs []string
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return nil, errors.New("grpcrekey: " + strings.Join(errs, "; "))
	}
	if !cfg.schemeSet && cfg.mdKey == DefaultMetadataKey {
		cfg.scheme = DefaultScheme
	}
	if cfg.isRejection == nil {
		cfg.isRejection = IsInvalidKeyRejection
	}
	c := &Credentials{cfg: cfg, obs: newObserver(cfg.hooks, cfg.log)}
	if err := c.useKeys(p); err != nil {
		return nil, err
	}
	return c, nil
}

// useKeys sets where c takes its keys from: p itself when it is a Cache or
// a Pool, otherwise a Cache of c's own in front of p.
func (c *Credentials) useKeys(p credentials.Provider) error {
	shared, isCache := p.(*credentials.Cache)
	pool, isPool := p.(*credentials.Pool)
	refresh := c.cfg.refresh
	switch {
	case p == nil && refresh == nil:
		return errors.New("grpcrekey: New(nil): pass a credentials.Provider, such as credentials.Env(\"EXAMPLE_API_KEY\")")
	case isCache && shared == nil:
		return errors.New("grpcrekey: New: the *credentials.Cache is nil")
	case isCache && refresh != nil:
		return errors.New("grpcrekey: New: a *credentials.Cache and WithRefresh: set Refresh on the Cache instead")
	case isCache:
		c.cache = shared
	case isPool && pool == nil:
		return errors.New("grpcrekey: New: the *credentials.Pool is nil: make one with credentials.NewPool")
	case isPool && refresh != nil:
		return errors.New("grpcrekey: New: a *credentials.Pool and WithRefresh: give a member its own refresh with a *credentials.Cache{Provider: ..., Refresh: ...} as its provider")
	case isPool && pool.Err() != nil:
		return fmt.Errorf("grpcrekey: New: %w", pool.Err())
	case isPool:
		c.pool = pool
		c.memos = make([]atomic.Pointer[keyed], pool.Len())
		c.obs.pooled = true
		if fn := c.obs.keys.OnPoolEvent(); fn != nil {
			c.unobserve = pool.Observe(fn)
		}
	default:
		c.cache = &credentials.Cache{Provider: p, Refresh: refresh, OnRefresh: c.obs.keys.OnRefresh()}
		c.ownCache = true
	}
	return nil
}

// DialOptions returns the options that wire c into a connection: a unary
// and a stream client interceptor (chained, so they compose with your
// own). Pass them to grpc.NewClient together with transport credentials:
//
//	conn, err := grpc.NewClient("api.example.com:443",
//		append(rk.DialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(nil)))...)
//
// Interceptors given before these see each call once; those given after
// see a replay as a call of its own, and so do a call's options (a
// grpc.OnFinish callback runs once per attempt; grpc.Header and
// grpc.Trailer end up holding the replay's). A call that sets its own
// grpc.PerRPCCredentials call option has it replaced by c's.
func (c *Credentials) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(c.unary),
		grpc.WithChainStreamInterceptor(c.stream),
	}
}

// Close stops the background refreshes of the Cache that New made (a Cache
// or Pool passed to New belongs to the caller), and, with a Pool, stops
// reporting its members' changes to the hooks and the logger. Calls made
// afterwards still use the key held, but cannot refresh it (with a Pool,
// they still fail over until the Pool is closed). Close is idempotent.
func (c *Credentials) Close() error {
	if c.unobserve != nil {
		c.unobserve()
	}
	if c.ownCache {
		return c.cache.Close()
	}
	return nil
}

// String describes the Credentials without printing a key.
func (c *Credentials) String() string {
	var keys fmt.Stringer = c.cache
	if c.pool != nil {
		keys = c.pool
	}
	return fmt.Sprintf("grpcrekey.Credentials{MetadataKey: %q, Scheme: %q, %v}", c.cfg.mdKey, c.cfg.scheme, keys)
}

// Format implements fmt.Formatter so that no verb dumps the fields, some of
// which hold the current key.
func (c *Credentials) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }
