package grpcrekey_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// New takes a provider and options, and checks them at once.
func ExampleNew() {
	rk, err := grpcrekey.New(credentials.Env("EXAMPLE_API_KEY"), grpcrekey.WithMetadataKey("x-goog-api-key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	fmt.Println(rk)

	_, err = grpcrekey.New(credentials.Env("EXAMPLE_API_KEY"), grpcrekey.WithMetadataKey("grpc-key"))
	fmt.Println(err)
	// Output:
	// grpcrekey.Credentials{MetadataKey: "x-goog-api-key", Scheme: "", credentials.Cache{empty}}
	// grpcrekey: WithMetadataKey("grpc-key"): names starting with "grpc-" are reserved by gRPC
}

// Google's gRPC APIs take the key in x-goog-api-key, bare; etcd in
// "token"; many others in "authorization: Bearer <key>", the default.
func ExampleWithMetadataKey() {
	addr, stop := loopbackAPI(only("x-goog-api-key", "AIzaSyD4eC39HqLyjWDarjtT1zdp7dc"))
	defer stop()
	rk, err := grpcrekey.New(credentials.Static("AIzaSyD4eC39HqLyjWDarjtT1zdp7dc"), grpcrekey.WithMetadataKey("x-goog-api-key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("call error:", call(conn))
	// Output:
	// call error: <nil>
}

// An API that wants "authorization: Token <key>". An empty scheme sends
// the bare key.
func ExampleWithScheme() {
	addr, stop := loopbackAPI(only("authorization", "Token sk_live_4eC39HqLyjWDarjtT1zdp7dc"))
	defer stop()
	rk, err := grpcrekey.New(credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), grpcrekey.WithScheme("Token"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("call error:", call(conn))
	// Output:
	// call error: <nil>
}

// The refresh hook logs in again (etcd's Authenticate) or mints a key; it
// runs once for every call that saw the rejection.
func ExampleWithRefresh() {
	addr, stop := loopbackAPI(only("authorization", "Bearer sk_live_minted0000000000002"))
	defer stop()
	rk, err := grpcrekey.New(credentials.Static("sk_live_revoked0000000000001"),
		grpcrekey.WithRefresh(func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			fmt.Println("replacing", rejected)
			return credentials.Credential{Key: "sk_live_minted0000000000002"}, nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("call error:", call(conn))
	// Output:
	// replacing Credential{Key: sk_live_…0001}
	// call error: <nil>
}

// The same rekey.Hooks as a rekey.Client's (and so otelrekey's); a gRPC
// call reports its method and the HTTP status its code maps to.
func ExampleWithHooks() {
	addr, stop := loopbackAPI(only("authorization", "Bearer sk_live_minted0000000000002"))
	defer stop()
	rk, err := grpcrekey.New(credentials.Static("sk_live_revoked0000000000001"),
		grpcrekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: "sk_live_minted0000000000002"}, nil
		}),
		grpcrekey.WithHooks(rekey.Hooks{
			KeyRejected:     func(ev transport.Event) { fmt.Println("rejected:", ev.Method, ev.StatusCode) },
			RequestReplayed: func(ev transport.Event) { fmt.Println("replayed:", ev.Method) },
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("call error:", call(conn))
	// Output:
	// rejected: /grpc.testing.TestService/EmptyCall 401
	// replayed: /grpc.testing.TestService/EmptyCall
	// call error: <nil>
}

// WithLogger logs what a rekey.Client logs, never a key. (Time and URL are
// left out here so that the output is the same every run.)
func ExampleWithLogger() {
	addr, stop := loopbackAPI(only("authorization", "Bearer sk_live_minted0000000000002"))
	defer stop()
	stable := func(_ []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case slog.TimeKey, "url", "duration":
			return slog.Attr{}
		}
		return a
	}
	rk, err := grpcrekey.New(credentials.Static("sk_live_revoked0000000000001"),
		grpcrekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: "sk_live_minted0000000000002"}, nil
		}),
		grpcrekey.WithLogger(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: stable}))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("call error:", call(conn))
	// Output:
	// level=INFO msg="rekey: API key refreshed" reason=initial attempts=1
	// level=WARN msg="rekey: API key rejected; refreshing it" method=/grpc.testing.TestService/EmptyCall code=Unauthenticated cause=invalid
	// level=INFO msg="rekey: API key refreshed" reason=rejected attempts=1
	// level=INFO msg="rekey: gRPC call replayed with a refreshed key" method=/grpc.testing.TestService/EmptyCall code=Unauthenticated cause=invalid
	// call error: <nil>
}

// An API that follows Google's AIP-193 with reasons of its own: here a
// PermissionDenied whose ErrorInfo reason says the token expired, which
// the default matcher leaves alone.
func ExampleWithRejection() {
	current := "tok_minted0000000000002"
	addr, stop := loopbackAPI(func(md metadata.MD) error {
		if strings.Join(md.Get("authorization"), "") == "Bearer "+current {
			return nil
		}
		st, _ := status.New(codes.PermissionDenied, "request denied").WithDetails(
			&errdetails.ErrorInfo{Reason: "TOKEN_EXPIRED", Domain: "api.example.com"})
		return st.Err()
	})
	defer stop()
	rk, err := grpcrekey.New(credentials.Static("tok_expired0000000000001"),
		grpcrekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: current}, nil
		}),
		grpcrekey.WithRejection(grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
			grpcrekey.ErrorInfoReason("api.example.com", "TOKEN_EXPIRED", "TOKEN_REVOKED"))),
		grpcrekey.WithHooks(rekey.Hooks{KeyRejected: func(ev transport.Event) { fmt.Println("rejected:", ev.Cause) }}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("call error:", call(conn))
	// Output:
	// rejected: expired
	// call error: <nil>
}

// The key goes over a connection without TLS only to a loopback address
// or a Unix socket. An in-process connection (bufconn) or a trusted
// network needs WithInsecureTransport; without it nothing is sent.
func ExampleWithInsecureTransport() {
	lis := bufconn.Listen(1 << 20)
	srv := loopbackServer(only("authorization", "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc"))
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	defer srv.Stop()
	viaBufconn := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })

	for _, opts := range [][]grpcrekey.Option{nil, {grpcrekey.WithInsecureTransport()}} {
		rk, err := grpcrekey.New(credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), opts...)
		if err != nil {
			fmt.Println(err)
			return
		}
		conn, err := grpc.NewClient("passthrough:///bufnet",
			append(rk.DialOptions(), viaBufconn, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, err = testgrpc.NewTestServiceClient(conn).EmptyCall(context.Background(), &testgrpc.Empty{})
		fmt.Println("insecure request refused:", errors.Is(err, rekey.ErrInsecureRequest))
		conn.Close()
		rk.Close()
	}
	// Output:
	// insecure request refused: true
	// insecure request refused: false
}

// A client stream rejected before any response is opened again with the
// new key and what it had sent is sent again, if it sent no more messages
// than the limit; a larger stream gets the error, and the key is still
// refreshed for the next call.
func ExampleWithStreamReplayLimit() {
	current := "sk_live_minted0000000000002"
	addr, stop := loopbackAPI(func(md metadata.MD) error {
		if strings.Join(md.Get("authorization"), "") != "Bearer "+current {
			return status.Error(codes.Unauthenticated, "API key not valid")
		}
		return nil
	})
	defer stop()
	rk, err := grpcrekey.New(credentials.Static("sk_live_revoked0000000000001"),
		grpcrekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: current}, nil
		}),
		grpcrekey.WithStreamReplayLimit(16),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	stream, err := testgrpc.NewTestServiceClient(conn).StreamingInputCall(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		if err := stream.Send(&testgrpc.StreamingInputCallRequest{}); err != nil {
			break // the error comes from CloseAndRecv
		}
	}
	resp, err := stream.CloseAndRecv()
	fmt.Println("messages received:", resp.GetAggregatedPayloadSize(), err)
	// Output:
	// messages received: 3 <nil>
}

// A call that could carry no key fails before anything is sent, with
// gRPC's Unauthenticated, as grpc-go's own per-call credentials fail.
func ExampleCredentialError() {
	addr, stop := loopbackAPI(func(metadata.MD) error { return nil })
	defer stop()
	rk, err := grpcrekey.New(credentials.Env("EXAMPLE_UNSET_API_KEY"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	conn, err := dial(rk, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	_, err = testgrpc.NewTestServiceClient(conn).EmptyCall(context.Background(), &testgrpc.Empty{})
	var noKey *grpcrekey.CredentialError
	if errors.As(err, &noKey) {
		fmt.Println(noKey.Method, status.Code(err))
		fmt.Println(errors.Is(err, credentials.ErrNoCredentials))
	}
	// Output:
	// /grpc.testing.TestService/EmptyCall Unauthenticated
	// true
}
