package rekey_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// A Client with two keys for one API (in practice credentials.Env("KEY1")
// and credentials.Env("KEY2"), or a primary and a standby from a secret
// store). The primary is revoked: the request is replayed at once with the
// standby, so the caller sees no error. When every key is revoked, the
// error says so, key by key.
func ExampleWithCredentials_pool() {
	api := rekeytest.NewServer()
	defer api.Close()
	primary, standby := api.IssueKey().Key, api.IssueKey().Key

	pool := credentials.NewPool(credentials.Static(primary), credentials.Static(standby))
	defer pool.Close() // the pool is the caller's: close it after the Client
	client, err := rekey.NewClient(api.URL+"/v1",
		rekey.WithCredentials(pool),
		rekey.WithHooks(rekey.Hooks{
			KeyRejected: func(ev transport.Event) { fmt.Println("key", ev.Member, "rejected") },
			Failover:    func(ev transport.Event) { fmt.Println("replayed with key", ev.Member) },
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	send := func() error {
		req, _ := client.NewRequest(context.Background(), "POST", "echo", map[string]string{"text": "hi"})
		_, err := client.Do(req, nil)
		return err
	}
	api.Revoke(primary)
	fmt.Println("error:", send())

	api.Revoke(standby)
	err = send()
	var poolErr *rekey.PoolError
	fmt.Println(errors.Is(err, rekey.ErrInvalidAPIKey), errors.As(err, &poolErr), len(poolErr.Members))
	// Output:
	// key 0 rejected
	// replayed with key 1
	// error: <nil>
	// key 1 rejected
	// true true 2
}
