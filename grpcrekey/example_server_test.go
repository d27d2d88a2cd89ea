package grpcrekey_test

import (
	"context"
	"io"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/grpcrekey"
)

// loopbackAPI serves grpc.testing.TestService on a loopback port. check
// sees each call's metadata (unary calls and streams alike) and returns
// the call's error, or nil to serve it.
func loopbackAPI(check func(md metadata.MD) error) (addr string, stop func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := loopbackServer(check)
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	return lis.Addr().String(), srv.Stop
}

func loopbackServer(check func(md metadata.MD) error) *grpc.Server {
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if err := check(md); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		if err := check(md); err != nil {
			return err
		}
		return handler(srv, ss)
	}
	s := grpc.NewServer(grpc.UnaryInterceptor(unary), grpc.StreamInterceptor(stream))
	testgrpc.RegisterTestServiceServer(s, loopbackService{})
	return s
}

type loopbackService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (loopbackService) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}

// StreamingInputCall counts the messages received.
func (loopbackService) StreamingInputCall(ss grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
	var n int32
	for {
		if _, err := ss.Recv(); err == io.EOF {
			return ss.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: n})
		} else if err != nil {
			return err
		}
		n++
	}
}

// only accepts calls whose metadata name holds want, and answers others
// Unauthenticated.
func only(name, want string) func(metadata.MD) error {
	return func(md metadata.MD) error {
		if strings.Join(md.Get(name), ",") != want {
			return status.Error(codes.Unauthenticated, "API key not valid")
		}
		return nil
	}
}

// dial connects to a loopback addr with rk's options; a server elsewhere
// needs grpc.WithTransportCredentials(credentials.NewTLS(nil)) instead.
func dial(rk *grpcrekey.Credentials, addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, append(rk.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
}

// call makes one EmptyCall and returns its error.
func call(conn *grpc.ClientConn) error {
	_, err := testgrpc.NewTestServiceClient(conn).EmptyCall(context.Background(), &testgrpc.Empty{})
	return err
}
