package grpcrekey_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// warmUp makes one call, so that the Credentials hold the server's current
// key before the test makes it go bad.
func warmUp(t *testing.T, client testgrpc.TestServiceClient) {
	t.Helper()
	if _, err := unaryCall(callCtx(t), client, "warm-up"); err != nil {
		t.Fatalf("warm-up call: %v", err)
	}
}

func payload(s string) *testgrpc.Payload { return &testgrpc.Payload{Body: []byte(s)} }

// TestServerStreamReplayed: a server-streaming call rejected before its
// first response is opened again with the new key, its request sent again,
// and every response arrives.
func TestServerStreamReplayed(t *testing.T) {
	api := newGoogleAPI(t)
	rk, rec := newCredentials(t, api)
	client := api.dial(t, rk.DialOptions())
	warmUp(t, client)
	api.rotate()

	ctx := callCtx(t)
	stream, err := client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
		Payload:            payload("tick"),
		ResponseParameters: make([]*testgrpc.ResponseParameters, 3),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d responses: %v", len(got), err)
		}
		got = append(got, string(resp.GetPayload().GetBody()))
	}
	if !slices.Equal(got, []string{"tick", "tick", "tick"}) {
		t.Errorf("responses %q; want 3 ticks", got)
	}
	if m, r := api.mints.Load(), api.rejected.Load(); m != 1 || r != 1 {
		t.Errorf("%d keys minted, %d rejections; want 1 and 1", m, r)
	}
	want := []transport.EventKind{transport.EventKeyRejected, transport.EventReplayed}
	if k := rec.kinds(); !slices.Equal(k, want) {
		t.Errorf("events %v; want %v", k, want)
	}
}

// TestClientStreamReplayed: a client-streaming call whose messages were
// sent before the server's rejection arrived sends them all again on the
// new stream (the sum proves it), as long as they fit the replay limit;
// beyond it the stream is not replayed, but the key is still refreshed.
func TestClientStreamReplayed(t *testing.T) {
	const messages = 20
	cases := []struct {
		name     string
		opts     []grpcrekey.Option
		replayed bool
		reason   string
	}{
		{name: "within the limit", replayed: true},
		{name: "over the limit", opts: []grpcrekey.Option{grpcrekey.WithStreamReplayLimit(5)}, reason: "more than 5 messages"},
		{name: "replay off", opts: []grpcrekey.Option{grpcrekey.WithStreamReplayLimit(0)}, reason: "stream replay is off"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newGoogleAPI(t)
			rk, rec := newCredentials(t, api, tc.opts...)
			client := api.dial(t, rk.DialOptions())
			warmUp(t, client)
			api.rotate()

			stream, err := client.StreamingInputCall(callCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for i := range messages {
				body := strings.Repeat("x", i+1)
				want += len(body)
				if err := stream.Send(&testgrpc.StreamingInputCallRequest{Payload: payload(body)}); err != nil {
					if err != io.EOF {
						t.Fatalf("Send %d: %v", i, err)
					}
					break // as grpc says: the stream ended, CloseAndRecv tells how
				}
			}
			resp, err := stream.CloseAndRecv()
			if m := api.mints.Load(); m != 1 {
				t.Errorf("%d keys minted; want 1", m)
			}
			if !tc.replayed {
				var apiErr *rekey.APIError
				if !errors.As(err, &apiErr) || !strings.Contains(apiErr.NotReplayed, tc.reason) || status.Code(err) != codes.InvalidArgument {
					t.Fatalf("CloseAndRecv: %v; want the rejection, not replayed because of %q", err, tc.reason)
				}
				want := []transport.EventKind{transport.EventKeyRejected, transport.EventNotReplayed}
				if k := rec.kinds(); !slices.Equal(k, want) {
					t.Errorf("events %v; want %v", k, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("CloseAndRecv: %v", err)
			}
			if got := int(resp.GetAggregatedPayloadSize()); got != want {
				t.Errorf("server summed %d bytes; want %d (every message sent again)", got, want)
			}
		})
	}
}

// TestBidiStream: a bidirectional stream rejected before its first
// response is replayed; one rejected after a response is not (the server
// has acted on what it received), and the caller gets the typed error while
// the key is refreshed for the next stream.
func TestBidiStream(t *testing.T) {
	api := newGoogleAPI(t)
	rk, rec := newCredentials(t, api)
	client := api.dial(t, rk.DialOptions())
	ctx := callCtx(t)

	// Rejected before any response: replayed.
	warmUp(t, client)
	api.rotate()
	stream, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload("one")}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil || string(resp.GetPayload().GetBody()) != "one" {
		t.Fatalf("first Recv = %v, %v; want the echo, after a replay", resp, err)
	}

	// Rejected after a response: the server revokes the key mid-stream.
	for _, body := range []string{"two", "revoke"} {
		if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if resp, err := stream.Recv(); err != nil || string(resp.GetPayload().GetBody()) != "two" {
		t.Fatalf("second Recv = %v, %v", resp, err)
	}
	_, err = stream.Recv()
	var apiErr *rekey.APIError
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &apiErr) || !strings.Contains(apiErr.NotReplayed, "already received a response") ||
		status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Recv after the revoke: %v; want the rejection, not replayed", err)
	}
	if m := api.mints.Load(); m != 2 {
		t.Errorf("%d keys minted; want 2 (one per rejection)", m)
	}
	want := []transport.EventKind{transport.EventKeyRejected, transport.EventReplayed, transport.EventKeyRejected, transport.EventNotReplayed}
	if k := rec.kinds(); !slices.Equal(k, want) {
		t.Errorf("events %v; want %v", k, want)
	}

	// The next stream uses the refreshed key at once.
	stream, err = client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: payload("three")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || string(resp.GetPayload().GetBody()) != "three" {
		t.Fatalf("new stream: %v, %v", resp, err)
	}
	stream.CloseSend()
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("end of the new stream: %v; want io.EOF", err)
	}
	if r := api.rejected.Load(); r != 2 {
		t.Errorf("%d rejections; want 2", r)
	}
}
