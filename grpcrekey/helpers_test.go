package grpcrekey_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// recorder collects the events a Credentials reports through its hooks.
type recorder struct {
	mu       sync.Mutex
	events   []transport.Event
	refresh  []credentials.RefreshEvent
	rejected int
}

func (r *recorder) hooks() rekey.Hooks {
	ev := func(e transport.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if e.Kind == transport.EventKeyRejected {
			r.rejected++
		}
		if len(r.events) < 100 {
			r.events = append(r.events, e)
		}
	}
	rf := func(e credentials.RefreshEvent) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.refresh = append(r.refresh, e)
	}
	return rekey.Hooks{KeyRejected: ev, RequestReplayed: ev, RequestNotReplayed: ev, ReplayRejected: ev,
		RefreshStarted: rf, RefreshSucceeded: rf, RefreshFailed: rf}
}

// kinds returns the kinds of the events recorded, in order.
func (r *recorder) kinds() []transport.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []transport.EventKind
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func (r *recorder) first() transport.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return transport.Event{}
	}
	return r.events[0]
}

// newCredentials builds Credentials for the fake Google API: its current
// key first, its mint as the refresh hook, x-goog-api-key.
func newCredentials(t testing.TB, api *googleAPI, opts ...grpcrekey.Option) (*grpcrekey.Credentials, *recorder) {
	t.Helper()
	rec := &recorder{}
	first := credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
		return credentials.Credential{Key: api.current()}, nil
	})
	opts = append([]grpcrekey.Option{
		grpcrekey.WithMetadataKey("x-goog-api-key"),
		grpcrekey.WithRefresh(api.mint),
		grpcrekey.WithHooks(rec.hooks()),
	}, opts...)
	rk, err := grpcrekey.New(first, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rk.Close() })
	return rk, rec
}

// callCtx is the context of one call in a test: generous, but bounded.
func callCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func insecureCreds() grpccreds.TransportCredentials { return insecure.NewCredentials() }

// mdRecorder is a loopback server whose EmptyCall hands the metadata it
// received to got.
type mdRecorder struct {
	testgrpc.UnimplementedTestServiceServer
	got chan metadata.MD
}

func (m *mdRecorder) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	select {
	case m.got <- md:
	default:
	}
	return &testgrpc.Empty{}, nil
}

// start serves m on a loopback port and returns its address.
func (m *mdRecorder) start(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, m)
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// fmtAll formats v with every verb that could show a field.
func fmtAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v)
}
