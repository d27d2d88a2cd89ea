package rekeytest

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// KeyPrefix starts every API key the server issues; the rest is 32 random
// base62 characters, so keys are URL-safe and pass [credentials.Validate].
const KeyPrefix = "rk_test_"

// accountSecretPrefix starts the random account secret, so that it is never
// mistaken for an API key.
const accountSecretPrefix = "rk_acct_"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomToken returns prefix followed by 32 base62 characters from
// crypto/rand.
func randomToken(prefix string) string {
	const n = 32
	out := make([]byte, 0, len(prefix)+n)
	out = append(out, prefix...)
	var buf [64]byte
	for len(out) < cap(out) {
		rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if b < 248 && len(out) < cap(out) { // 248 = 4*62: no modulo bias
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

// keyStore holds the keys that have been issued and not revoked. Revoked keys
// are forgotten, so memory is bounded by the number of live keys.
type keyStore struct {
	mu   sync.Mutex
	keys map[string]keyRecord
}

type keyRecord struct {
	issued  time.Time
	expires time.Time // zero: never
}

// expired reports whether the key has a TTL that has run out at now.
func (k keyRecord) expired(now time.Time) bool {
	return !k.expires.IsZero() && !now.Before(k.expires)
}

// IssueKey mints a new API key directly, without HTTP, for test setup. It
// honours [WithKeyTTL] (the Credential's Expiry is set when keys expire) and
// [WithRevokeOnIssue], and counts in [Stats].KeysIssued. Safe for concurrent
// use.
func (s *Server) IssueKey() credentials.Credential {
	key := randomToken(KeyPrefix)
	now := s.cfg.now()
	rec := keyRecord{issued: now}
	if s.cfg.keyTTL > 0 {
		rec.expires = now.Add(s.cfg.keyTTL)
	}
	s.store.mu.Lock()
	if s.cfg.revokeOnIssue {
		s.stats.keysRevoked.Add(int64(len(s.store.keys)))
		clear(s.store.keys)
	}
	s.store.keys[key] = rec
	s.store.mu.Unlock()
	s.stats.keysIssued.Add(1)
	return credentials.Credential{Key: key, Expiry: rec.expires}
}

// Revoke makes key invalid at once: every later request presenting it is
// answered 401 with [InvalidKeyBody]. It reports whether key had been issued
// by s and not yet revoked (an expired key can still be revoked). Safe for
// concurrent use.
func (s *Server) Revoke(key string) bool {
	s.store.mu.Lock()
	_, ok := s.store.keys[key]
	delete(s.store.keys, key)
	s.store.mu.Unlock()
	if ok {
		s.stats.keysRevoked.Add(1)
	}
	return ok
}

// RotateAll revokes every key issued so far, as an operator rotating all
// credentials would. Keys minted afterwards are valid. Safe for concurrent
// use.
func (s *Server) RotateAll() {
	s.store.mu.Lock()
	n := len(s.store.keys)
	clear(s.store.keys)
	s.store.mu.Unlock()
	s.stats.keysRevoked.Add(int64(n))
	s.stats.rotations.Add(1)
}

// lookup returns the record of key, if the key was issued and not revoked.
func (s *Server) lookup(key string) (keyRecord, bool) {
	if key == "" {
		return keyRecord{}, false
	}
	s.store.mu.Lock()
	rec, ok := s.store.keys[key]
	s.store.mu.Unlock()
	return rec, ok
}

// liveKeys counts the keys that are issued, not revoked and not expired.
func (s *Server) liveKeys() int {
	now := s.cfg.now()
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	n := 0
	for _, rec := range s.store.keys {
		if !rec.expired(now) {
			n++
		}
	}
	return n
}

// rotateLoop calls RotateAll every d until the server closes.
func (s *Server) rotateLoop(d time.Duration) {
	defer s.bg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.RotateAll()
		case <-s.done:
			return
		}
	}
}
