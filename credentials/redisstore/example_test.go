package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/redisstore"
	"github.com/rekeyhq/rekey/transport"
)

// mintKey stands for the refresh hook of a real service: it asks the API's
// key endpoint for a new key with the account secret.
func mintKey(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	return credentials.Credential{Key: "sk_live_0123456789abcdef"}, nil
}

// New only configures the Store: it does not reach Redis until a key is
// needed. A Store never prints a key.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	store, err := redisstore.New(rdb, mintKey,
		redisstore.WithPrefix("myapp:billing-api"),
		redisstore.WithLease(15*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store)
	// Output: redisstore.Store{Prefix: "myapp:billing-api"}
}

// Every replica builds its client the same way: the Store is the
// credentials provider, and the refresh hook goes to the Store, not to the
// Client, so that a rejection is handled once for the fleet.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	store, err := redisstore.New(rdb, mintKey,
		redisstore.WithPrefix("myapp:billing-api"),
		redisstore.WithProvider(credentials.Env("BILLING_API_KEY")), // the key to start from, if any
	)
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(store))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Or, for another SDK's http.Client:
	hc := &http.Client{Transport: &transport.Transport{Credentials: store}}
	_ = hc
}

// extendKey and mintKey stand for the two calls of an API that extends its
// keys: one pushes the current key's expiry back, the other issues a key.
func extendKey(ctx context.Context, old credentials.Credential) (credentials.Credential, error) {
	return credentials.Credential{Key: old.Key, Expiry: time.Now().Add(time.Hour)}, nil
}

// For an API that extends a key rather than replacing it, the hook extends
// on expiry and mints after a rejection. The Store makes one extension per
// expiry serve the whole fleet: the first replica to reach the expiry
// extends the key and stores the new expiry in Redis; the others take it
// from there without calling the hook.
func Example_extend() {
	hook := func(ctx context.Context, old credentials.Credential) (credentials.Credential, error) {
		reason, _ := credentials.RefreshReasonFrom(ctx)
		if old.Key != "" && (reason == credentials.ReasonExpiring || reason == credentials.ReasonExpired) {
			return extendKey(ctx, old)
		}
		return mintKey(ctx, old) // the first key, or one the API rejected
	}
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	store, err := redisstore.New(rdb, hook, redisstore.WithPrefix("myapp:billing-api"))
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(store))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
}
