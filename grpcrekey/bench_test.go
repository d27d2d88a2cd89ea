package grpcrekey_test

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/oauth"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
)

// benchServer answers UnaryCall over bufconn with TLS (grpc-go's oauth
// credentials require transport security), after checking that the call
// carries "authorization: Bearer <token>".
type benchServer struct {
	testgrpc.UnimplementedTestServiceServer
	want string
}

func (s *benchServer) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) != 1 || v[0] != s.want {
		return nil, status.Error(codes.Unauthenticated, "no token")
	}
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// BenchmarkUnaryCall compares the happy path of a unary call, over bufconn
// with TLS to the same server, authenticated by grpc-go's
// credentials/oauth.TokenSource (on a static token source, and on the
// oauth2.ReuseTokenSource that oauth2 configurations return) and by
// grpcrekey (a key without expiry, one with an expiry, which costs a
// clock read, and a pool of three keys, primary first).
func BenchmarkUnaryCall(b *testing.B) {
	const token = "bench-token-0123456789abcdef"
	serverTLS, clientTLS := tlsPair(b)
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.Creds(serverTLS))
	testgrpc.RegisterTestServiceServer(srv, &benchServer{want: "Bearer " + token})
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	defer srv.Stop()
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })

	tok := &oauth2.Token{AccessToken: token, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	rk, err := grpcrekey.New(credentials.Static(token))
	if err != nil {
		b.Fatal(err)
	}
	defer rk.Close()
	expiring := credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
		return credentials.Credential{Key: token, Expiry: time.Now().Add(time.Hour)}, nil
	})
	rkExpiry, err := grpcrekey.New(expiring)
	if err != nil {
		b.Fatal(err)
	}
	defer rkExpiry.Close()
	pool := credentials.NewPool(credentials.Static(token), credentials.Static(token+"-2"), credentials.Static(token+"-3"))
	defer pool.Close()
	rkPool, err := grpcrekey.New(pool)
	if err != nil {
		b.Fatal(err)
	}
	defer rkPool.Close()

	cases := []struct {
		name string
		opts []grpc.DialOption
	}{
		{"creds=oauth-static", []grpc.DialOption{grpc.WithPerRPCCredentials(oauth.TokenSource{TokenSource: oauth2.StaticTokenSource(tok)})}},
		{"creds=oauth-reuse", []grpc.DialOption{grpc.WithPerRPCCredentials(oauth.TokenSource{TokenSource: oauth2.ReuseTokenSource(tok, oauth2.StaticTokenSource(tok))})}},
		{"creds=grpcrekey", rk.DialOptions()},
		{"creds=grpcrekey-expiry", rkExpiry.DialOptions()},
		{"creds=grpcrekey-pool3", rkPool.DialOptions()},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			conn := dialConn(b, "api.test", clientTLS, append(tc.opts, dialer))
			client := testgrpc.NewTestServiceClient(conn)
			req := &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("ping")}}
			ctx := context.Background()
			if _, err := client.UnaryCall(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
