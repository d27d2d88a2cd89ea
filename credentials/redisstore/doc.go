// Package redisstore shares one API key among many processes through Redis,
// so that when the API rejects the key exactly one process mints a new one
// and every process picks it up.
//
// A [credentials.Cache] already makes one refresh serve every goroutine of a
// process. That is not enough for a fleet of replicas sharing one API
// account: on many APIs minting a key revokes the previous one, so replicas
// rotating on their own knock each other's keys out. A [Store] coordinates
// the processes:
//
//   - the current key, its generation number and its expiry live in the
//     Redis hash "<prefix>:cred";
//   - a refresh takes the lock "<prefix>:lock" (SET NX PX, with a random
//     token and a lease), re-reads the hash, and calls the real refresh hook
//     only if the hash still holds the rejected key; the new key is stored as
//     the next generation and announced on the channel "<prefix>:updates";
//   - the other processes wait for the announcement (or poll, should it be
//     lost) and read the new key; if the holder dies, its lease expires and
//     a waiter takes the lock over;
//   - if Redis is down, each process falls back to refreshing on its own,
//     with a logged warning, and never hangs.
//
// For an API that extends a key rather than replacing it, a refresh for the
// key's expiry (see [credentials.RefreshReasonFrom]) takes a stored key that
// is the same but expires later: the first process to reach the expiry
// extends the key through the hook and stores the new expiry, and the others
// take it from Redis, so that each expiry costs one call to the hook for the
// whole fleet. After a rejection, only a different key replaces the
// rejected one.
//
// Wire it in front of a Cache, as a Provider:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(rdb, mintKey, redisstore.WithPrefix("myapp:billing-api"))
//	if err != nil { ... }
//	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(store))
//
// or in a bare transport: &transport.Transport{Credentials: store}.
//
// Give the refresh hook to New only, not also to rekey.WithRefresh or
// Transport.Refresh: those call it directly, bypassing the coordination.
//
// The key stored in Redis is a secret at rest: protect the Redis instance
// (authentication, TLS, network access) as you would the key. redisstore
// does not encrypt it.
package redisstore
