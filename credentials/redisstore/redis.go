package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
)

// stored is the shared credential as read from Redis, with its generation.
// Generation 0 with an empty key means Redis holds nothing yet.
type stored struct {
	cred credentials.Credential
	gen  int64
}

// storeScript replaces the stored credential only if its generation is still
// ARGV[1] (the one the lock holder re-checked), bumps the generation and
// announces it on the channel, all at once. It returns {1, new generation}
// or, when another process stored first, {0, current generation}.
var storeScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if cur ~= tonumber(ARGV[1]) then
	return {0, cur}
end
local gen = cur + 1
redis.call('HSET', KEYS[1], 'key', ARGV[2], 'gen', gen, 'expiry', ARGV[3])
redis.call('PUBLISH', ARGV[4], gen)
return {1, gen}
`)

// releaseScript deletes the lock only if it still holds this holder's token,
// so that a holder whose lease ran out cannot release its successor's lock.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// op bounds one Redis call by the per-call timeout.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.opTO)
}

// load reads the shared credential. A hash that is missing or empty is the
// zero stored; any other error means Redis is unavailable.
func (s *Store) load(ctx context.Context) (stored, error) {
	var vals []any
	err := s.call(ctx, func(ctx context.Context) (err error) {
		vals, err = s.client.HMGet(ctx, s.credKey, "key", "gen", "expiry").Result()
		return err
	})
	if err != nil {
		return stored{}, fmt.Errorf("redisstore: reading %s: %w", s.credKey, err)
	}
	str := func(i int) string {
		if i < len(vals) {
			if v, ok := vals[i].(string); ok {
				return v
			}
		}
		return ""
	}
	var st stored
	st.cred.Key = str(0)
	if g := str(1); g != "" {
		if st.gen, err = strconv.ParseInt(g, 10, 64); err != nil {
			return stored{}, fmt.Errorf("redisstore: %s holds a malformed generation", s.credKey)
		}
	}
	if e := str(2); e != "" && e != "0" {
		ms, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return stored{}, fmt.Errorf("redisstore: %s holds a malformed expiry", s.credKey)
		}
		st.cred.Expiry = time.UnixMilli(ms)
	}
	return st, nil
}

// save stores cred as the generation after gen. It reports whether it did
// (false: another process stored first).
func (s *Store) save(ctx context.Context, gen int64, cred credentials.Credential) (bool, error) {
	var expiry int64
	if !cred.Expiry.IsZero() {
		expiry = cred.Expiry.UnixMilli()
	}
	var saved bool
	retry := false
	err := s.call(ctx, func(ctx context.Context) error {
		res, err := storeScript.Run(ctx, s.client, []string{s.credKey},
			gen, cred.Key, expiry, s.channel).Int64Slice()
		if err != nil {
			retry = true
			return err
		}
		saved = len(res) == 2 && res[0] == 1
		if !saved && retry {
			// The try that failed may have stored it after all (its
			// answer was lost): then the key stored is this one.
			stored, err := s.client.HGet(ctx, s.credKey, "key").Result()
			saved = err == nil && stored == cred.Key
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: storing the new key: %w", err)
	}
	return saved, nil
}

// lock tries once to take the refresh lock with token for the lease.
func (s *Store) lock(ctx context.Context, token string) (bool, error) {
	var ok bool
	retry := false
	err := s.call(ctx, func(ctx context.Context) (err error) {
		if retry {
			// The try that failed may have taken the lock after all
			// (its answer was lost): then it holds this token.
			holder, err := s.client.Get(ctx, s.lockKey).Result()
			if err == nil && holder == token {
				ok = true
				return nil
			}
		}
		ok, err = s.client.SetNX(ctx, s.lockKey, token, s.cfg.lease).Result()
		retry = err != nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: taking the lock %s: %w", s.lockKey, err)
	}
	return ok, nil
}

// unlock releases the lock if token still holds it, and reports whether it
// did (false: the lease ran out first).
func (s *Store) unlock(ctx context.Context, token string) (bool, error) {
	var n int64
	err := s.call(context.WithoutCancel(ctx), func(ctx context.Context) (err error) {
		n, err = releaseScript.Run(ctx, s.client, []string{s.lockKey}, token).Int64()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: releasing the lock %s: %w", s.lockKey, err)
	}
	return n == 1, nil
}

// subscribe listens for new generations. It returns nil when pub/sub is
// unavailable: the waiter then polls.
func (s *Store) subscribe(ctx context.Context) *redis.PubSub {
	ps := s.client.Subscribe(ctx, s.channel)
	opCtx, cancel := s.op(ctx)
	defer cancel()
	if _, err := ps.Receive(opCtx); err != nil {
		ps.Close()
		return nil
	}
	return ps
}

// newToken returns a random lock token, unique to one lock holding.
func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24)
	return hex.EncodeToString(b[:])
}
