package grpcrekey_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// A stream whose member's key is rejected before its first response fails
// over at once: it is opened again with the next member, what it had sent
// is sent again, and every response arrives, while the rejected member's
// refresh is still held back by its source (a stream that waited for it
// would run out of its 5 s). Server-streaming and bidirectional streams
// alike.
func TestPoolStreamFailsOverBeforeFirstResponse(t *testing.T) {
	cases := []struct {
		name, method string
		run          func(ctx context.Context, c testgrpc.TestServiceClient) ([]string, error)
	}{
		{"server stream", "StreamingOutputCall", func(ctx context.Context, c testgrpc.TestServiceClient) ([]string, error) {
			stream, err := c.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
				Payload: payload("tick"), ResponseParameters: make([]*testgrpc.ResponseParameters, 3),
			})
			if err != nil {
				return nil, err
			}
			return recvAll(stream.Recv)
		}},
		{"bidirectional stream", "FullDuplexCall", func(ctx context.Context, c testgrpc.TestServiceClient) ([]string, error) {
			stream, err := c.FullDuplexCall(ctx)
			if err != nil {
				return nil, err
			}
			for _, m := range []string{"one", "two", "three"} {
				if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload(m)}); err != nil {
					return nil, err
				}
			}
			if err := stream.CloseSend(); err != nil {
				return nil, err
			}
			return recvAll(stream.Recv)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newKeyServer(t, keyA, keyB)
			a := gated(keyA)
			client, _, log := poolClient(t, srv, credentials.NewPool(a, newSource(keyB)))
			t.Cleanup(a.open)
			if _, err := unaryCall(callCtx(t), client, "warm-up"); err != nil {
				t.Fatal(err)
			}
			srv.set(keyA, false)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := tc.run(ctx, client)
			if err != nil {
				t.Fatalf("after %d responses: %v", len(got), err)
			}
			if len(got) != 3 {
				t.Errorf("responses %q; want 3", got)
			}
			// Its refresh runs in the background, held back: the stream did not wait for it.
			waitFor(t, "the primary's refresh", func() bool { return a.reads.Load() == 2 })
			_, rejectedA, _ := srv.counts(keyA)
			acceptedB, _, _ := srv.counts(keyB)
			if rejectedA != 1 || acceptedB != 1 {
				t.Errorf("stream sent %d times with the revoked key and %d with the second; want 1 and 1", rejectedA, acceptedB)
			}
			want := []transport.EventKind{transport.EventKeyRejected, transport.EventFailover}
			if k := log.kinds(); !slices.Equal(k, want) {
				t.Errorf("events %v; want %v", k, want)
			}
			if f := log.of(transport.EventFailover); len(f) == 1 && (f[0].Member != 1 || f[0].Method != "/grpc.testing.TestService/"+tc.method) {
				t.Errorf("failover event %+v: want member 1 and the stream's method", f[0])
			}
		})
	}
}

// recvAll receives until the stream ends, returning the payloads.
func recvAll(recv func() (*testgrpc.StreamingOutputCallResponse, error)) ([]string, error) {
	var got []string
	for {
		resp, err := recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, string(resp.GetPayload().GetBody()))
	}
}

// A stream rejected after a response has arrived does not fail over (the
// server acted on what it received): the caller gets the typed error with
// the server's status, and no stream is opened with the other member.
func TestPoolStreamRejectedAfterResponseNotFailedOver(t *testing.T) {
	srv := newKeyServer(t, keyA, keyB)
	client, _, log := poolClient(t, srv, credentials.NewPool(newSource(keyA), newSource(keyB)))
	ctx := callCtx(t)
	stream, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload("hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload("revoke")}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	var rkErr *grpcrekey.Error
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &rkErr) || status.Code(err) != codes.Unauthenticated {
		t.Fatalf("error %v: want a *grpcrekey.Error matching ErrInvalidAPIKey with status Unauthenticated", err)
	}
	if rkErr.APIError.NotReplayed == "" {
		t.Errorf("error %v: want NotReplayed to say why", err)
	}
	if acceptedB, _, _ := srv.counts(keyB); acceptedB != 0 {
		t.Errorf("%d calls with the second key, want 0: the stream is not opened again", acceptedB)
	}
	if n := len(log.of(transport.EventFailover)); n != 0 {
		t.Errorf("%d failover events, want 0", n)
	}
	if n := len(log.of(transport.EventNotReplayed)); n != 1 {
		t.Errorf("%d not-replayed events, want 1", n)
	}
	stream.CloseSend()
}
