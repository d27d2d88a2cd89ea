// redisstore's README wiring, built against the published modules.
package main

import (
	"context"
	"errors"
	"log"

	"github.com/redis/go-redis/v9"
	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/redisstore"
)

func main() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	mint := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		return credentials.Credential{}, errors.New("mint a key with your API here")
	}
	store, err := redisstore.New(rdb, mint, redisstore.WithPrefix("myapp:billing-api"))
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(store))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	log.Print("redisstore: client ready")
}
