package credentials_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/rekeyhq/rekey/credentials"
)

// Two keys for one API, primary first, as Azure and Twilio give every
// account. When the API rejects the primary, the next request (and the
// replay of the rejected one) uses the standby at once; the primary is
// refreshed in the background and, its source still holding the rejected
// key, quarantined. package transport does these steps for you; this is
// what it asks of the Pool.
func ExampleNewPool() {
	pool := credentials.NewPool(
		credentials.Static("sk_live_key1key1key1key1key1"), // in practice credentials.Env("AZURE_AI_KEY1"), ...
		credentials.Static("sk_live_key2key2key2key2key2"),
	)
	defer pool.Close()
	ctx := context.Background()

	m, _ := pool.Pick(ctx)
	fmt.Println("sending with", m)

	pool.Reject(ctx, m) // the API answered 401
	next, _ := pool.Next(ctx, credentials.MemberSet(0).With(m.Index))
	fmt.Println("replaying with", next)

	later, _ := pool.Pick(ctx)
	fmt.Println("next request with", later)

	_, err := pool.Await(ctx, m) // what became of the primary's refresh
	fmt.Println("primary quarantined:", errors.As(err, new(*credentials.QuarantineError)), errors.Is(err, credentials.ErrSameKey))
	// Output:
	// sending with member 0 (sk_live_…key1)
	// replaying with member 1 (sk_live_…key2)
	// next request with member 1 (sk_live_…key2)
	// primary quarantined: true true
}

// Keys that share the load: with RoundRobin, requests take the healthy
// members in turn.
func ExampleNewPoolWith() {
	pool := credentials.NewPoolWith(credentials.PoolOptions{RoundRobin: true, FailoverOn: []int{429}},
		credentials.Static("rk_test_aaaaaaaaaaaaaaaaaaaa"),
		credentials.Static("rk_test_bbbbbbbbbbbbbbbbbbbb"),
		credentials.Static("rk_test_cccccccccccccccccccc"),
	)
	defer pool.Close()
	var turns []int
	for range 4 {
		m, _ := pool.Pick(context.Background())
		turns = append(turns, m.Index)
	}
	fmt.Println(turns)
	fmt.Println(pool)
	// Output:
	// [0 1 2 0]
	// credentials.Pool{round robin; [0] rk_test_…aaaa healthy; [1] rk_test_…bbbb healthy; [2] rk_test_…cccc healthy}
}
