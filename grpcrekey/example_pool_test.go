package grpcrekey_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// Two keys for one API, the primary revoked: the call is replayed at once
// with the standby, and the primary is refreshed in the background. In
// production the keys come from the environment, files or a secret store
// (credentials.Env("API_KEY_1"), credentials.File(...)).
func Example_pool() {
	addr, stop := exampleServer("sk-key2-5e6f70811a2b3c4d") // takes only the second key
	defer stop()

	pool := credentials.NewPool(
		credentials.Static("sk-key1-0f9e8d7c6b5a4938"), // primary, revoked since
		credentials.Static("sk-key2-5e6f70811a2b3c4d"), // standby
	)
	defer pool.Close() // after the Credentials: the pool is yours
	report := func(ev transport.Event) { fmt.Printf("%v: member %d (%s)\n", ev.Kind, ev.Member, ev.MemberKey) }
	rk, err := grpcrekey.New(pool, grpcrekey.WithHooks(rekey.Hooks{KeyRejected: report, Failover: report}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := grpc.NewClient(addr, append(rk.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	_, err = testgrpc.NewTestServiceClient(conn).EmptyCall(context.Background(), &testgrpc.Empty{})
	fmt.Println("call error:", err)
	// Output:
	// key rejected: member 0 (sk-key1-…4938)
	// failover: member 1 (sk-key2-…3c4d)
	// call error: <nil>
}
