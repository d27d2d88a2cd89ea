package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
)

// minter is a refresh hook that mints random keys and counts its calls.
type minter struct {
	calls atomic.Int64
	delay time.Duration // how long each call takes
	mu    sync.Mutex
	keys  []string // every key minted, in order
	last  credentials.Credential
	ctxs  []context.Context
}

func (m *minter) refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	m.calls.Add(1)
	m.mu.Lock()
	m.last = rejected
	m.ctxs = append(m.ctxs, ctx)
	m.mu.Unlock()
	if m.delay > 0 {
		select {
		case <-time.After(m.delay):
		case <-ctx.Done():
			return credentials.Credential{}, ctx.Err()
		}
	}
	k := newKey()
	m.mu.Lock()
	m.keys = append(m.keys, k)
	m.mu.Unlock()
	return credentials.Credential{Key: k}, nil
}

func newKey() string {
	var b [12]byte
	rand.Read(b[:])
	return "rk_unit_" + hex.EncodeToString(b[:])
}

// logBuffer is a concurrency-safe log destination.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newStore returns a Store over its own client of the test Redis, as one
// process of a fleet would have, with the given prefix and hook.
func newStore(t testing.TB, prefix string, hook credentials.RefreshFunc, opts ...Option) *Store {
	t.Helper()
	rdb := newClient(t)
	opts = append([]Option{WithPrefix(prefix), WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	s, err := New(rdb, hook, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// put stores cred in Redis as the next generation, as a lock holder would.
func put(t testing.TB, s *Store, cred credentials.Credential) {
	t.Helper()
	ctx := context.Background()
	cur, err := s.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.save(ctx, cur.gen, cred); err != nil || !ok {
		t.Fatalf("save: stored=%v err=%v", ok, err)
	}
}

// holdLock takes the Store's lock for lease with a token of the test's own,
// standing for another process's refresh.
func holdLock(t testing.TB, rdb *redis.Client, prefix string, lease time.Duration) {
	t.Helper()
	ok, err := rdb.SetNX(context.Background(), prefix+":lock", "another-process", lease).Result()
	if err != nil || !ok {
		t.Fatalf("taking the lock: ok=%v err=%v", ok, err)
	}
}

// waitSubscribers waits until n clients listen on the Store's channel.
func waitSubscribers(t testing.TB, rdb *redis.Client, prefix string, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		m, err := rdb.PubSubNumSub(context.Background(), prefix+":updates").Result()
		if err != nil {
			t.Fatal(err)
		}
		if m[prefix+":updates"] >= n {
			return
		}
	}
	t.Fatalf("fewer than %d subscribers on %s:updates after 5s", n, prefix)
}

// result is what one call of Refresh or Retrieve returned.
type result struct {
	cred credentials.Credential
	err  error
	took time.Duration
}

// async runs f in a goroutine owned by the test and returns its result's
// channel.
func async(f func() (credentials.Credential, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		start := time.Now()
		c, err := f()
		ch <- result{c, err, time.Since(start)}
	}()
	return ch
}

// await returns the result or fails t after limit.
func await(t testing.TB, ch <-chan result, limit time.Duration) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(limit):
		t.Fatalf("no result after %v", limit)
		return result{}
	}
}
