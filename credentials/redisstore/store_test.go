package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// With nothing in Redis and no provider, the fleet's first Retrieve mints
// one key for everyone.
func TestRetrieveMintsFirstKeyOnce(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	m := &minter{delay: 50 * time.Millisecond}
	var wg sync.WaitGroup
	keys := make([]string, 6)
	for i := range keys {
		s := newStore(t, prefix, m.refresh, WithPollInterval(20*time.Millisecond))
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Retrieve(context.Background())
			if err != nil {
				t.Error(err)
			}
			keys[i] = c.Key
		}()
	}
	testwait.Group(t, &wg, testwait.Timeout, "the processes' first Retrieve")
	if n := m.calls.Load(); n != 1 {
		t.Fatalf("minted %d keys, want 1", n)
	}
	for i, k := range keys {
		if k != m.keys[0] {
			t.Fatalf("process %d got a different key", i)
		}
	}
	if m.last != (credentials.Credential{}) {
		t.Fatalf("first mint was told %v was rejected, want the zero Credential", m.last)
	}
}

func TestRetrieve(t *testing.T) {
	seed := credentials.Credential{Key: newKey()}
	tests := []struct {
		name     string
		stored   *credentials.Credential
		provider bool
		want     string // "seed", "stored" or "minted"
	}{
		{name: "stored key", stored: &credentials.Credential{Key: newKey(), Expiry: time.Now().Add(time.Hour)}, want: "stored"},
		{name: "stored key wins over provider", stored: &credentials.Credential{Key: newKey()}, provider: true, want: "stored"},
		{name: "empty Redis reads provider", provider: true, want: "seed"},
		{name: "empty Redis mints", want: "minted"},
		{name: "expired stored key is replaced", stored: &credentials.Credential{Key: newKey(), Expiry: time.Now().Add(-time.Second)}, provider: true, want: "minted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := newClient(t)
			prefix := testPrefix(t, rdb)
			m := &minter{}
			var opts []Option
			if tt.provider {
				opts = append(opts, WithProvider(credentials.Static(seed.Key)))
			}
			s := newStore(t, prefix, m.refresh, opts...)
			if tt.stored != nil {
				put(t, s, *tt.stored)
			}
			got, err := s.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var want string
			switch tt.want {
			case "seed":
				want = seed.Key
			case "stored":
				want = tt.stored.Key
			case "minted":
				if len(m.keys) != 1 {
					t.Fatalf("minted %d keys, want 1", len(m.keys))
				}
				want = m.keys[0]
			}
			if got.Key != want {
				t.Fatalf("got %v, want the %s key", got, tt.want)
			}
			if tt.want != "minted" && m.calls.Load() != 0 {
				t.Fatalf("minted %d keys, want none", m.calls.Load())
			}
		})
	}
}

// unreachable returns a client of a loopback port nobody listens on,
// configured as a user might (ContextTimeoutEnabled unset, default retries).
func unreachable(t *testing.T) *redis.Client {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// With Redis down, every entry point falls back to the local path, logs a
// warning without the key, and returns promptly.
func TestRedisDownFallsBackLocally(t *testing.T) {
	seed := newKey()
	tests := []struct {
		name     string
		provider bool
		call     func(*Store) (credentials.Credential, error)
		minted   bool
	}{
		{name: "Refresh calls the hook", call: func(s *Store) (credentials.Credential, error) {
			return s.Refresh(context.Background(), credentials.Credential{Key: seed})
		}, minted: true},
		{name: "Retrieve reads the provider", provider: true, call: func(s *Store) (credentials.Credential, error) {
			return s.Retrieve(context.Background())
		}},
		{name: "Retrieve without provider mints", call: func(s *Store) (credentials.Credential, error) {
			return s.Retrieve(context.Background())
		}, minted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &minter{}
			var logs logBuffer
			opts := []Option{WithLogger(logs.logger()), WithOpTimeout(300 * time.Millisecond)}
			if tt.provider {
				opts = append(opts, WithProvider(credentials.Static(seed)))
			}
			s, err := New(unreachable(t), m.refresh, opts...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := tt.call(s)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if took > 2*time.Second {
				t.Fatalf("fallback took %v", took)
			}
			if tt.minted && (m.calls.Load() != 1 || got.Key != m.keys[0]) {
				t.Fatalf("got %v after %d hook calls, want a locally minted key", got, m.calls.Load())
			}
			if !tt.minted && got.Key != seed {
				t.Fatalf("got %v, want the provider's key", got)
			}
			out := logs.String()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "Redis unavailable") {
				t.Fatalf("no warning logged:\n%s", out)
			}
			if strings.Contains(out, got.Key) || strings.Contains(out, seed) {
				t.Fatalf("log contains a key:\n%s", out)
			}
		})
	}
}

// A cancelled context is not mistaken for Redis being down: no fallback.
func TestCancelledContextDoesNotFallBack(t *testing.T) {
	m := &minter{}
	s, err := New(unreachable(t), m.refresh, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Refresh(ctx, credentials.Credential{Key: newKey()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := s.Retrieve(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Retrieve err = %v, want context.Canceled", err)
	}
	if m.calls.Load() != 0 {
		t.Fatal("fell back to the hook on a cancelled context")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	hook := (&minter{}).refresh
	tests := []struct {
		name   string
		client redis.UniversalClient
		hook   credentials.RefreshFunc
		opt    Option
		want   string
	}{
		{"nil client", nil, hook, nil, "nil Redis client"},
		{"nil hook", rdb, nil, nil, "nil refresh hook"},
		{"empty prefix", rdb, hook, WithPrefix(""), "empty prefix"},
		{"short lease", rdb, hook, WithLease(time.Millisecond), "at least 100ms"},
		{"zero max wait", rdb, hook, WithMaxWait(0), "must be positive"},
		{"zero poll", rdb, hook, WithPollInterval(0), "must be positive"},
		{"negative op timeout", rdb, hook, WithOpTimeout(-1), "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.client, tt.hook, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "redisstore: ") {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// No fmt verb or slog record shows a Store's key.
func TestStoreNeverPrintsKey(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	s := newStore(t, prefix, (&minter{}).refresh)
	key := newKey()
	put(t, s, credentials.Credential{Key: key})
	if _, err := s.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	logs.logger().Info("store", "store", s)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%T"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, key) || strings.Contains(out, "rk_unit") {
			t.Errorf("%s prints the key: %s", verb, out)
		}
	}
	if out := logs.String(); strings.Contains(out, key) || !strings.Contains(out, prefix) {
		t.Errorf("slog: %s", out)
	}
	if got := s.String(); got != fmt.Sprintf("redisstore.Store{Prefix: %q}", prefix) {
		t.Errorf("String() = %s", got)
	}
}
