package grpcrekey_test

// googleAPI is a loopback gRPC server that authenticates calls as Google's
// APIs do with an API key, and answers a bad one the way they document:
//
//   - the key travels in the x-goog-api-key metadata
//     (https://cloud.google.com/docs/authentication/api-keys-use);
//   - an unknown key is INVALID_ARGUMENT "API key not valid. Please pass a
//     valid API key." with a google.rpc.ErrorInfo detail, reason
//     API_KEY_INVALID, domain googleapis.com, metadata {service: ...}, and
//     a google.rpc.LocalizedMessage; an expired one is API_KEY_EXPIRED "API
//     key expired. Please renew the API key."; a key not allowed to call
//     the service is PERMISSION_DENIED, reason API_KEY_SERVICE_BLOCKED (the
//     error model of https://google.aip.dev/193 and
//     https://cloud.google.com/apis/design/errors; the same statuses in
//     their HTTP form are in rekey's corpus,
//     internal/apierr/testdata/rejections/gemini-invalid-key.json);
//   - every error carries a google.rpc.RequestInfo with a request ID.
//
// It serves grpc-go's interop TestService (unary, server-, client- and
// bidirectional streaming calls) and checks the key in interceptors, before
// any handler runs, as Google's front ends do.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	rkcreds "github.com/rekeyhq/rekey/credentials"
)

const (
	googleKeyHeader = "x-goog-api-key"
	googleService   = "testservice.googleapis.com"
)

// googleAPI is the fake API; see the file comment.
type googleAPI struct {
	testgrpc.UnimplementedTestServiceServer

	mu      sync.Mutex
	valid   string          // the key that works now
	expired map[string]bool // keys answered API_KEY_EXPIRED rather than API_KEY_INVALID
	blocked bool            // answer every valid key API_KEY_SERVICE_BLOCKED
	echo    bool            // quote a rejected key in the message and in a detail, as some servers do
	serial  int

	ids      atomic.Int64 // request IDs
	calls    atomic.Int64 // calls that reached the key check
	rejected atomic.Int64 // calls answered with a bad-key status
	mints    atomic.Int64 // keys minted
	minted   chan struct{}

	addr string
	keys []string // every key ever minted, to look for leaks
}

// newGoogleAPI starts the fake on a loopback port, without TLS, and returns
// it with its first key minted.
func newGoogleAPI(t testing.TB, opts ...grpc.ServerOption) *googleAPI {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := &googleAPI{expired: map[string]bool{}, addr: lis.Addr().String(), minted: make(chan struct{}, 1<<12)}
	api.rotate()
	api.serve(t, lis, opts...)
	return api
}

func (api *googleAPI) serve(t testing.TB, lis net.Listener, opts ...grpc.ServerOption) {
	opts = append(opts, grpc.ChainUnaryInterceptor(api.checkUnary), grpc.ChainStreamInterceptor(api.checkStream))
	srv := grpc.NewServer(opts...)
	testgrpc.RegisterTestServiceServer(srv, api)
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)
}

// rotate mints a new key; the previous one becomes invalid.
func (api *googleAPI) rotate() string {
	api.mu.Lock()
	defer api.mu.Unlock()
	api.serial++
	api.valid = fmt.Sprintf("AIzaSyTest-%04d-%s", api.serial, newSecret()[:12])
	api.keys = append(api.keys, api.valid)
	return api.valid
}

// current returns the key that works now.
func (api *googleAPI) current() string {
	api.mu.Lock()
	defer api.mu.Unlock()
	return api.valid
}

// expire makes the current key answer API_KEY_EXPIRED from now on and mints
// a new one.
func (api *googleAPI) expire() {
	api.mu.Lock()
	api.expired[api.valid] = true
	api.mu.Unlock()
	api.rotate()
}

func (api *googleAPI) setEcho(b bool) {
	api.mu.Lock()
	api.echo = b
	api.mu.Unlock()
}

func (api *googleAPI) setBlocked(b bool) {
	api.mu.Lock()
	api.blocked = b
	api.mu.Unlock()
}

// mint is the refresh hook: it mints a key, as a key-management API would.
func (api *googleAPI) mint(context.Context, rkcreds.Credential) (rkcreds.Credential, error) {
	api.mints.Add(1)
	key := api.rotate()
	select {
	case api.minted <- struct{}{}:
	default:
	}
	return rkcreds.Credential{Key: key}, nil
}

// secrets returns every key minted so far.
func (api *googleAPI) secrets() []string {
	api.mu.Lock()
	defer api.mu.Unlock()
	return append([]string(nil), api.keys...)
}

func (api *googleAPI) checkUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := api.check(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (api *googleAPI) checkStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := api.check(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

// check authenticates a call by its x-goog-api-key.
func (api *googleAPI) check(ctx context.Context) error {
	api.calls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	var key string
	if v := md.Get(googleKeyHeader); len(v) == 1 {
		key = v[0]
	}
	api.mu.Lock()
	valid, expired, blocked, echo := key == api.valid, api.expired[key], api.blocked, api.echo
	api.mu.Unlock()
	switch {
	case valid && blocked:
		return api.status(codes.PermissionDenied, "Requests to this API testservice method google.testing.TestService.UnaryCall are blocked.", "API_KEY_SERVICE_BLOCKED")
	case valid:
		return nil
	case expired:
		api.rejected.Add(1)
		return api.status(codes.InvalidArgument, "API key expired. Please renew the API key.", "API_KEY_EXPIRED")
	}
	api.rejected.Add(1)
	if echo {
		st, _ := status.New(codes.InvalidArgument, "API key "+key+" not valid. Please pass a valid API key.").WithDetails(
			&errdetails.ErrorInfo{Reason: "API_KEY_INVALID", Domain: "googleapis.com", Metadata: map[string]string{"key": key}},
			&errdetails.RequestInfo{RequestId: "req-" + strconv.FormatInt(api.ids.Add(1), 10)},
		)
		return st.Err()
	}
	return api.status(codes.InvalidArgument, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
}

// status builds an error status with Google's details.
func (api *googleAPI) status(code codes.Code, msg, reason string) error {
	st, err := status.New(code, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: "googleapis.com", Metadata: map[string]string{"service": googleService}},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: msg},
		&errdetails.RequestInfo{RequestId: "req-" + strconv.FormatInt(api.ids.Add(1), 10)},
	)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return st.Err()
}

// UnaryCall echoes the request's payload.
func (api *googleAPI) UnaryCall(_ context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// StreamingOutputCall sends one response per response parameter, each
// echoing the request's payload.
func (api *googleAPI) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := ss.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
	return nil
}

// StreamingInputCall sums the sizes of the payloads received.
func (api *googleAPI) StreamingInputCall(ss grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
	var n int32
	for {
		req, err := ss.Recv()
		if err != nil {
			return ss.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: n})
		}
		n += int32(len(req.GetPayload().GetBody()))
	}
}

// FullDuplexCall echoes each request's payload; a request whose payload is
// "revoke" makes the current key invalid and ends the call with the
// invalid-key status, as when a key is revoked in the middle of a stream.
func (api *googleAPI) FullDuplexCall(ss grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	for {
		req, err := ss.Recv()
		if err != nil {
			return nil
		}
		if string(req.GetPayload().GetBody()) == "revoke" {
			api.rotate()
			api.rejected.Add(1)
			return api.status(codes.InvalidArgument, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
		}
		if err := ss.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// dial connects to the fake through rk, without transport security (the
// fake is on loopback), and closes the connection when the test ends.
func (api *googleAPI) dial(t testing.TB, dialOpts []grpc.DialOption) testgrpc.TestServiceClient {
	t.Helper()
	return testgrpc.NewTestServiceClient(dialConn(t, api.addr, insecure.NewCredentials(), dialOpts))
}

func dialConn(t testing.TB, addr string, tc credentials.TransportCredentials, dialOpts []grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, append(dialOpts, grpc.WithTransportCredentials(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
