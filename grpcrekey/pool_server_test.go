package grpcrekey_test

// keyServer is a loopback gRPC server that holds several valid keys for one
// API, as a vendor that gives each account two: it takes the key in
// "authorization: Bearer <key>", answers a revoked or unknown one with
// UNAUTHENTICATED and the details of Google's error model (AIP-193,
// https://google.aip.dev/193: a google.rpc.ErrorInfo with reason
// API_KEY_INVALID, a google.rpc.RequestInfo), and a key out of quota with
// RESOURCE_EXHAUSTED, an ErrorInfo with reason RATE_LIMIT_EXCEEDED and the
// metadata google/api/error_reason.proto gives it (service, quota_metric,
// quota_limit:
// https://github.com/googleapis/googleapis/blob/master/google/api/error_reason.proto),
// and a google.rpc.RetryInfo, "when the clients can retry"
// (https://github.com/googleapis/googleapis/blob/master/google/rpc/error_details.proto).
// It counts, per key, the calls it accepted, rejected and refused for quota,
// and checks the key in interceptors, before any handler runs.

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rekeyhq/rekey/credentials"
)

// Keys of the pool tests. They pass credentials.Validate.
const (
	keyA = "rk_test_AAAAAAAAAAAAAAAAAAA1"
	keyB = "rk_test_BBBBBBBBBBBBBBBBBBB1"
	keyC = "rk_test_CCCCCCCCCCCCCCCCCCC1"
)

// keyServer is the server; see the file comment.
type keyServer struct {
	testgrpc.UnimplementedTestServiceServer

	mu       sync.Mutex
	valid    map[string]bool
	quota    map[string]time.Duration // key → the RetryInfo delay of its RESOURCE_EXHAUSTED
	echo     bool                     // quote a rejected key in the message and in a detail, as some servers do
	accepted map[string]int
	rejected map[string]int
	refused  map[string]int // RESOURCE_EXHAUSTED answers
	hold     *barrier       // holds a key's rejections until n of them wait
	ids      atomic.Int64

	addr string
}

// barrier holds the rejections of key until n of them wait.
type barrier struct {
	key      string
	n, seen  int
	release  chan struct{}
	timedOut atomic.Bool // a rejection gave up waiting: they were not all held at once
}

func newKeyServer(t testing.TB, valid ...string) *keyServer {
	t.Helper()
	s := &keyServer{valid: map[string]bool{}, quota: map[string]time.Duration{},
		accepted: map[string]int{}, rejected: map[string]int{}, refused: map[string]int{}}
	for _, k := range valid {
		s.valid[k] = true
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = lis.Addr().String()
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(s.checkUnary), grpc.ChainStreamInterceptor(s.checkStream))
	testgrpc.RegisterTestServiceServer(srv, s)
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)
	return s
}

// set makes key valid or not.
func (s *keyServer) set(key string, valid bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.valid[key] = valid
}

// outOfQuota makes a valid key answer RESOURCE_EXHAUSTED with a RetryInfo
// of delay, or serve again.
func (s *keyServer) outOfQuota(key string, on bool, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.quota[key] = delay
	} else {
		delete(s.quota, key)
	}
}

func (s *keyServer) setEcho(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = on
}

// holdRejections makes the next n rejections of key wait for each other.
func (s *keyServer) holdRejections(key string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = &barrier{key: key, n: n, release: make(chan struct{})}
}

// heldAtOnce reports whether the rejections holdRejections asked for were
// all held until the last arrived.
func (s *keyServer) heldAtOnce() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hold != nil && s.hold.seen == s.hold.n && !s.hold.timedOut.Load()
}

// counts returns what the server did with key: calls accepted, rejected
// (UNAUTHENTICATED) and refused (RESOURCE_EXHAUSTED).
func (s *keyServer) counts(key string) (accepted, rejected, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted[key], s.rejected[key], s.refused[key]
}

func (s *keyServer) checkUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *keyServer) checkStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.check(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

// keyOf returns the key a call carries.
func keyOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) == 1 {
		return strings.TrimPrefix(v[0], "Bearer ")
	}
	return ""
}

// check authenticates a call by its key.
func (s *keyServer) check(ctx context.Context) error {
	key := keyOf(ctx)
	s.mu.Lock()
	if !s.valid[key] {
		s.rejected[key]++
		if h := s.hold; h != nil && h.key == key && h.seen < h.n {
			if h.seen++; h.seen == h.n {
				close(h.release)
			}
			s.mu.Unlock()
			select {
			case <-h.release:
			case <-ctx.Done():
				h.timedOut.Store(true)
			case <-time.After(10 * time.Second):
				h.timedOut.Store(true)
			}
			s.mu.Lock()
		}
		echo := s.echo
		s.mu.Unlock()
		return s.rejection(key, echo)
	}
	if delay, ok := s.quota[key]; ok {
		s.refused[key]++
		s.mu.Unlock()
		return s.exhausted(delay)
	}
	s.accepted[key]++
	s.mu.Unlock()
	return nil
}

// rejection is the UNAUTHENTICATED answer to an unknown key; with echo, it
// quotes the key.
func (s *keyServer) rejection(key string, echo bool) error {
	msg, meta := "API key not valid. Please pass a valid API key.", map[string]string{"service": googleService}
	if echo {
		msg, meta = "API key "+key+" not valid. Please pass a valid API key.", map[string]string{"key": key}
	}
	st, err := status.New(codes.Unauthenticated, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: "API_KEY_INVALID", Domain: "googleapis.com", Metadata: meta},
		&errdetails.RequestInfo{RequestId: s.requestID()},
	)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return st.Err()
}

// exhausted is the RESOURCE_EXHAUSTED answer to a key out of quota.
func (s *keyServer) exhausted(delay time.Duration) error {
	details := []protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: "RATE_LIMIT_EXCEEDED", Domain: "googleapis.com", Metadata: map[string]string{
			"service": googleService, "quota_metric": googleService + "/requests", "quota_limit": "RequestsPerMinutePerProject",
		}},
		&errdetails.RequestInfo{RequestId: s.requestID()},
	}
	if delay > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	}
	st, err := status.New(codes.ResourceExhausted, "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service '"+googleService+"'.").WithDetails(details...)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return st.Err()
}

func (s *keyServer) requestID() string { return "req-" + strconv.FormatInt(s.ids.Add(1), 10) }

// UnaryCall echoes the request's payload; a request for a larger response
// gets one of that size.
func (s *keyServer) UnaryCall(_ context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if n := req.GetResponseSize(); n > 0 {
		return &testgrpc.SimpleResponse{Payload: &testgrpc.Payload{Body: make([]byte, n)}}, nil
	}
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// StreamingOutputCall sends one response per response parameter, each
// echoing the request's payload.
func (s *keyServer) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := ss.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
	return nil
}

// FullDuplexCall echoes each request's payload; a request whose payload is
// "revoke" revokes the stream's key and ends the call with the rejection,
// as when a key is revoked in the middle of a stream.
func (s *keyServer) FullDuplexCall(ss grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	key := keyOf(ss.Context())
	for {
		req, err := ss.Recv()
		if err != nil {
			return nil
		}
		if string(req.GetPayload().GetBody()) == "revoke" {
			s.set(key, false)
			s.mu.Lock()
			s.rejected[key]++
			s.mu.Unlock()
			return s.rejection(key, false)
		}
		if err := ss.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// source is a provider over an in-memory key, standing in for a secret
// store or an environment variable: re-reading it after a rejection yields
// the same key until the test changes it. It counts its reads; gated, every
// read after the first waits until the gate opens (or 10 s pass), as a
// slow secret store would.
type source struct {
	key   atomic.Pointer[string]
	reads atomic.Int64
	gate  chan struct{} // nil: no gate
	once  sync.Once
}

func newSource(key string) *source {
	s := &source{}
	s.key.Store(&key)
	return s
}

// gated returns a source whose refreshes wait for open.
func gated(key string) *source {
	s := newSource(key)
	s.gate = make(chan struct{})
	return s
}

// open lets the reads through; it may be called more than once.
func (s *source) open() {
	if s.gate != nil {
		s.once.Do(func() { close(s.gate) })
	}
}

func (s *source) Retrieve(ctx context.Context) (credentials.Credential, error) {
	if s.reads.Add(1) > 1 && s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return credentials.Credential{}, ctx.Err()
		case <-time.After(10 * time.Second):
		}
	}
	return credentials.Credential{Key: *s.key.Load()}, nil
}

func (s *source) String() string { return "source" }
