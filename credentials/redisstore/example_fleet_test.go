package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/redisstore"
)

// These examples run against a real Redis: the one the tests start (or
// REKEY_REDIS_ADDR). In an application, the address of yours.

// exampleRedis returns a client of the tests' Redis and a prefix no other
// run uses, and how to remove its keys.
func exampleRedis() (rdb *redis.Client, prefix string, done func()) {
	rdb = redis.NewClient(&redis.Options{Addr: redisstore.RedisAddrForExamples(), ContextTimeoutEnabled: true})
	var b [6]byte
	rand.Read(b[:])
	prefix = "rekey-example:" + hex.EncodeToString(b[:])
	return rdb, prefix, func() {
		rdb.Del(context.Background(), prefix+":cred", prefix+":lock")
		rdb.Close()
	}
}

// mintCounter is a refresh hook that mints numbered keys and counts its
// calls, standing for a call to the API's key endpoint.
type mintCounter struct{ n atomic.Int64 }

func (m *mintCounter) mint(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	return credentials.Credential{Key: fmt.Sprintf("sk_live_fleetKey%012d", m.n.Add(1))}, nil
}

// Two replicas of a service share one key. When the API rejects it, both
// refresh, and the refresh hook runs once: the replica that takes the lock
// mints the key, the other finds it in Redis.
func ExampleStore_Refresh() {
	rdb, prefix, done := exampleRedis()
	defer done()
	var hook mintCounter
	replicaA, errA := redisstore.New(rdb, hook.mint, redisstore.WithPrefix(prefix))
	replicaB, errB := redisstore.New(rdb, hook.mint, redisstore.WithPrefix(prefix))
	if err := errors.Join(errA, errB); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	a, _ := replicaA.Retrieve(ctx) // Redis holds no key yet: one replica mints it
	b, _ := replicaB.Retrieve(ctx)
	fmt.Println("first key:", a, b, "minted:", hook.n.Load())

	a, _ = replicaA.Refresh(ctx, a) // the API rejected the key
	b, _ = replicaB.Refresh(ctx, b) // on both replicas
	fmt.Println("new key:", a, b, "minted:", hook.n.Load())
	// Output:
	// first key: Credential{Key: sk_live_…0001} Credential{Key: sk_live_…0001} minted: 1
	// new key: Credential{Key: sk_live_…0002} Credential{Key: sk_live_…0002} minted: 2
}

// Processes that share one API key use the same prefix; processes using
// different keys (another account, another API) use different ones.
func ExampleWithPrefix() {
	rdb, prefix, done := exampleRedis()
	defer done()
	defer rdb.Del(context.Background(), prefix+"-search:cred")
	var billingHook, searchHook mintCounter
	billing, errA := redisstore.New(rdb, billingHook.mint, redisstore.WithPrefix(prefix)) // "myapp:billing-api"
	search, errB := redisstore.New(rdb, searchHook.mint, redisstore.WithPrefix(prefix+"-search"))
	if err := errors.Join(errA, errB); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	billing.Retrieve(ctx)
	search.Retrieve(ctx)
	fmt.Println("billing keys minted:", billingHook.n.Load(), "search keys minted:", searchHook.n.Load())
	// Output:
	// billing keys minted: 1 search keys minted: 1
}

// The key to start from, when Redis holds none yet: every replica uses the
// provider's key until the API rejects it; then one replica mints a new
// one, and every replica takes it from Redis.
func ExampleWithProvider() {
	rdb, prefix, done := exampleRedis()
	defer done()
	os.Setenv("EXAMPLE_BILLING_API_KEY", "sk_live_fromTheEnvironment01")
	defer os.Unsetenv("EXAMPLE_BILLING_API_KEY")
	var hook mintCounter
	opts := []redisstore.Option{redisstore.WithPrefix(prefix), redisstore.WithProvider(credentials.Env("EXAMPLE_BILLING_API_KEY"))}
	replicaA, errA := redisstore.New(rdb, hook.mint, opts...)
	replicaB, errB := redisstore.New(rdb, hook.mint, opts...)
	if err := errors.Join(errA, errB); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	a, _ := replicaA.Retrieve(ctx)
	fmt.Println("A starts with", a, "minted:", hook.n.Load())
	a, _ = replicaA.Refresh(ctx, a) // the API rejected it
	b, _ := replicaB.Retrieve(ctx)
	fmt.Println("B uses", b, "minted:", hook.n.Load())
	// Output:
	// A starts with Credential{Key: sk_live_…nt01} minted: 0
	// B uses Credential{Key: sk_live_…0001} minted: 1
}

// The refresh lock is held for at most the lease, so a replica that dies
// while refreshing stalls the others for no longer. The hook's context ends
// shortly before the lease does: a hook that honours it never outlasts the
// lock.
func ExampleWithLease() {
	rdb, prefix, done := exampleRedis()
	defer done()
	const lease = 30 * time.Second // the slowest key minting expected, with room
	store, err := redisstore.New(rdb, func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		deadline, ok := ctx.Deadline()
		fmt.Println("hook bounded by the lease:", ok && time.Until(deadline) <= lease)
		return credentials.Credential{Key: "sk_live_fleetKey000000000001"}, nil
	}, redisstore.WithPrefix(prefix), redisstore.WithLease(lease))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := store.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// hook bounded by the lease: true
	// Credential{Key: sk_live_…0001} <nil>
}

// While one replica refreshes, the others wait for its key, for at most
// WithMaxWait; then they fail with ErrWaitTimeout (which a Cache retries).
// Here replica A's refresh hook is stuck until B has given up.
func ExampleWithMaxWait() {
	rdb, prefix, done := exampleRedis()
	defer done()
	entered, release := make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		close(entered)
		<-release
		return credentials.Credential{Key: "sk_live_fleetKey000000000001"}, nil
	}
	replicaA, errA := redisstore.New(rdb, slow, redisstore.WithPrefix(prefix))
	replicaB, errB := redisstore.New(rdb, slow, redisstore.WithPrefix(prefix), redisstore.WithMaxWait(100*time.Millisecond))
	if err := errors.Join(errA, errB); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	fromA := make(chan credentials.Credential)
	go func() {
		cred, _ := replicaA.Retrieve(ctx)
		fromA <- cred
	}()
	<-entered // A holds the lock
	_, err := replicaB.Retrieve(ctx)
	fmt.Println("B gave up:", errors.Is(err, redisstore.ErrWaitTimeout))
	close(release)
	fmt.Println("A:", <-fromA)
	// Output:
	// B gave up: true
	// A: Credential{Key: sk_live_…0001}
}

// Replicas that refresh at the same moment wait for the one holding the
// lock: a pub/sub announcement tells them of its key, and they re-read
// Redis at the poll interval in case the announcement is lost.
func ExampleWithPollInterval() {
	rdb, prefix, done := exampleRedis()
	defer done()
	var hook mintCounter
	replicas := make([]*redisstore.Store, 3)
	for i := range replicas {
		store, err := redisstore.New(rdb, hook.mint, redisstore.WithPrefix(prefix), redisstore.WithPollInterval(100*time.Millisecond))
		if err != nil {
			fmt.Println(err)
			return
		}
		replicas[i] = store
	}
	keys := make([]credentials.Credential, len(replicas))
	var wg sync.WaitGroup
	for i, store := range replicas {
		wg.Add(1)
		go func() { // three processes starting at once
			defer wg.Done()
			keys[i], _ = store.Retrieve(context.Background())
		}()
	}
	wg.Wait()
	fmt.Println(keys, "minted:", hook.n.Load())
	// Output:
	// [Credential{Key: sk_live_…0001} Credential{Key: sk_live_…0001} Credential{Key: sk_live_…0001}] minted: 1
}

// downRedis returns a client of an address where nothing listens: Redis
// is down.
func downRedis() *redis.Client {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	l.Close()
	return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
}

// When Redis cannot be reached, each call gives up after the op timeout
// and the Store falls back to the local path: here the provider's key.
// No call waits longer.
func ExampleWithOpTimeout() {
	rdb := downRedis()
	defer rdb.Close()
	var hook mintCounter
	store, err := redisstore.New(rdb, hook.mint,
		redisstore.WithOpTimeout(200*time.Millisecond),
		redisstore.WithProvider(credentials.Static("sk_live_fromTheConfig000001")),
		redisstore.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := store.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001} <nil>
}

// The Store warns when it falls back to the local path (Redis down) or a
// refresh outlasted its lease; never with a key. (Time and the error,
// which names the address, are left out here so that the output is the
// same every run.)
func ExampleWithLogger() {
	rdb := downRedis()
	defer rdb.Close()
	noTimeOrErr := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "err" {
			return slog.Attr{}
		}
		return a
	}
	var hook mintCounter
	store, err := redisstore.New(rdb, hook.mint,
		redisstore.WithLogger(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTimeOrErr}))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := store.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// level=WARN msg="redisstore: Redis unavailable: minting a key locally" component=redisstore prefix=rekey
	// Credential{Key: sk_live_…0001} <nil>
}
