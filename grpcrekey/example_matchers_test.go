package grpcrekey_test

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
)

// etcd answers a token older than its auth store's last change (a password
// changed, a role revoked) with InvalidArgument "etcdserver: revision of
// auth store is old"; logging in again cures it. Here a loopback server
// answers as etcd does, and the refresh hook stands for Authenticate.
func ExampleStatusMessage() {
	current := "etcd_token_0000000000000002"
	addr, stop := loopbackAPI(func(md metadata.MD) error {
		if strings.Join(md.Get("token"), "") != current {
			return status.Error(codes.InvalidArgument, "etcdserver: revision of auth store is old")
		}
		return nil
	})
	defer stop()

	logins := 0
	login := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		logins++ // etcd: Auth.Authenticate(name, password)
		return credentials.Credential{Key: current}, nil
	}
	rk, err := grpcrekey.New(credentials.Static("etcd_token_0000000000000001"),
		grpcrekey.WithMetadataKey("token"),
		grpcrekey.WithRefresh(login),
		grpcrekey.WithRejection(grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
			grpcrekey.StatusMessage(codes.InvalidArgument, "etcdserver: revision of auth store is old"))),
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
	fmt.Println("call error:", call(conn), "logins:", logins)
	// Output:
	// call error: <nil> logins: 1
}

// The default matcher: every Unauthenticated; a PermissionDenied or
// InvalidArgument only when it says the key is invalid, expired or revoked.
func ExampleIsInvalidKeyRejection() {
	withReason := func(code codes.Code, msg, reason string) *status.Status {
		st, _ := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "googleapis.com"})
		return st
	}
	for _, st := range []*status.Status{
		status.New(codes.Unauthenticated, "request had invalid authentication credentials"),
		status.New(codes.InvalidArgument, "API key not valid. Please pass a valid API key."),
		withReason(codes.PermissionDenied, "Requests from this API key are blocked.", "API_KEY_SERVICE_BLOCKED"),
		status.New(codes.PermissionDenied, "etcdserver: permission denied"),
		status.New(codes.InvalidArgument, "page_size must be positive"),
	} {
		fmt.Println(st.Code(), grpcrekey.IsInvalidKeyRejection(st))
	}
	// Output:
	// Unauthenticated true
	// InvalidArgument true
	// PermissionDenied false
	// PermissionDenied false
	// InvalidArgument false
}

// ErrorInfoReason matches an API's own google.rpc.ErrorInfo reasons,
// whatever the status code; the domain keeps another service's reasons out.
func ExampleErrorInfoReason() {
	m := grpcrekey.ErrorInfoReason("api.example.com", "TOKEN_EXPIRED", "TOKEN_REVOKED")
	for _, info := range []*errdetails.ErrorInfo{
		{Reason: "TOKEN_REVOKED", Domain: "api.example.com"},
		{Reason: "TOKEN_REVOKED", Domain: "other.example.com"},
		{Reason: "QUOTA_EXCEEDED", Domain: "api.example.com"},
	} {
		st, _ := status.New(codes.FailedPrecondition, "request denied").WithDetails(info)
		fmt.Println(info.Reason, info.Domain, m(st))
	}
	// Output:
	// TOKEN_REVOKED api.example.com true
	// TOKEN_REVOKED other.example.com false
	// QUOTA_EXCEEDED api.example.com false
}

// AnyOf combines the default with an API's own rejections.
func ExampleAnyOf() {
	m := grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
		grpcrekey.StatusMessage(codes.Unknown, "auth: invalid auth token"))
	fmt.Println(m(status.New(codes.Unauthenticated, "")))
	fmt.Println(m(status.New(codes.Unknown, "auth: invalid auth token")))
	fmt.Println(m(status.New(codes.Unknown, "connection reset")))
	// Output:
	// true
	// true
	// false
}

// DialOptions chain rekey's interceptors with your own: one given before
// them sees each call once, one given after sees each attempt, the replay
// with the new key included.
func ExampleCredentials_DialOptions() {
	addr, stop := loopbackAPI(only("authorization", "Bearer sk_live_minted0000000000002"))
	defer stop()
	rk, err := grpcrekey.New(credentials.Static("sk_live_revoked0000000000001"),
		grpcrekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: "sk_live_minted0000000000002"}, nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rk.Close()

	var calls, attempts int
	counter := func(n *int) grpc.UnaryClientInterceptor {
		return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			*n++
			return invoker(ctx, method, req, reply, cc, opts...)
		}
	}
	opts := []grpc.DialOption{grpc.WithChainUnaryInterceptor(counter(&calls))}
	opts = append(opts, rk.DialOptions()...)
	opts = append(opts, grpc.WithChainUnaryInterceptor(counter(&attempts)),
		grpc.WithTransportCredentials(insecure.NewCredentials())) // TLS for a server elsewhere
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("call error:", call(conn), "calls:", calls, "attempts:", attempts)
	// Output:
	// call error: <nil> calls: 1 attempts: 2
}
