package grpcrekey_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
)

// A gRPC client whose key was revoked: the first call is rejected, the key
// refreshed once, and the call replayed; the caller sees only the answer.
func Example() {
	addr, stop := exampleServer("sk-v2-1a2b3c4d5e6f7081") // takes only "authorization: Bearer key-v2"
	defer stop()

	rk, err := grpcrekey.New(credentials.Static("sk-v1-0f9e8d7c6b5a4938"), // the key in the config, revoked since
		grpcrekey.WithRefresh(func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			fmt.Println("refreshing the rejected key")
			return credentials.Credential{Key: "sk-v2-1a2b3c4d5e6f7081"}, nil // mint or fetch a new key here
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	// A loopback server needs no TLS; any other needs
	// grpc.WithTransportCredentials(credentials.NewTLS(nil)).
	conn, err := grpc.NewClient(addr, append(rk.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	_, err = testgrpc.NewTestServiceClient(conn).EmptyCall(context.Background(), &testgrpc.Empty{})
	fmt.Println("call error:", err)
	// Output:
	// refreshing the rejected key
	// call error: <nil>
}

// When recovery cannot help (here the refreshed key is rejected too), the
// error is rekey's and gRPC's at once: errors.Is finds
// rekey.ErrInvalidAPIKey, and status.Code the server's code.
func Example_errors() {
	addr, stop := exampleServer("sk-v3-9a8b7c6d5e4f3021")
	defer stop()

	rk, err := grpcrekey.New(credentials.Static("sk-v1-0f9e8d7c6b5a4938"),
		grpcrekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: "sk-v2-1a2b3c4d5e6f7081"}, nil
		}))
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
	fmt.Println("invalid key:", errors.Is(err, rekey.ErrInvalidAPIKey))
	fmt.Println("gRPC code:", status.Code(err))
	var apiErr *rekey.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("replayed:", apiErr.Replayed, "cause:", apiErr.Cause)
	}
	fmt.Println(err)
	// Output:
	// invalid key: true
	// gRPC code: Unauthenticated
	// replayed: true cause: revoked
	// rekey: invalid API key for /grpc.testing.TestService/EmptyCall (Unauthenticated): API key revoked (key revoked); refreshed once, still rejected
}

// etcd with authentication on: the token from Authenticate is the key, in
// etcd's "token" metadata, and a refresh logs in again. etcd answers a
// token older than its auth store's last change with InvalidArgument
// "etcdserver: revision of auth store is old", and its Maintenance service
// (in 3.4) a dropped token with Unknown "auth: invalid auth token": both
// are cured by logging in again, so add them to the matcher.
// (ExampleStatusMessage runs the same matcher against a loopback server.)
func Example_etcd() {
	conn, err := grpc.NewClient("etcd.internal:2379", grpc.WithTransportCredentials(grpccreds.NewTLS(nil)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	etcdLogin := credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
		resp, err := pb.NewAuthClient(conn).Authenticate(ctx, &pb.AuthenticateRequest{Name: "app", Password: os.Getenv("ETCD_PASSWORD")})
		if err != nil {
			return credentials.Credential{}, err
		}
		return credentials.Credential{Key: resp.GetToken()}, nil
	})
	rk, err := grpcrekey.New(etcdLogin,
		grpcrekey.WithMetadataKey("token"), // the bare token: no scheme for metadata other than authorization
		grpcrekey.WithRejection(grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
			grpcrekey.StatusMessage(codes.InvalidArgument, "etcdserver: revision of auth store is old"),
			grpcrekey.StatusMessage(codes.Unknown, "auth: invalid auth token"))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()
	kvConn, err := grpc.NewClient("etcd.internal:2379", append(rk.DialOptions(), grpc.WithTransportCredentials(grpccreds.NewTLS(nil)))...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kvConn.Close()
	kv := pb.NewKVClient(kvConn)
	_ = kv // kv.Put(ctx, &pb.PutRequest{...}) logs in again when etcd drops the token
}

// exampleServer serves TestService.EmptyCall on a loopback port to calls
// with "authorization: Bearer <key>", and answers any other key
// Unauthenticated "API key revoked".
func exampleServer(key string) (addr string, stop func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	check := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if strings.Join(md.Get("authorization"), ",") != "Bearer "+key {
			return nil, status.Error(codes.Unauthenticated, "API key revoked")
		}
		return handler(ctx, req)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(check))
	testgrpc.RegisterTestServiceServer(srv, exampleService{})
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	return lis.Addr().String(), srv.Stop
}

type exampleService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (exampleService) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}
