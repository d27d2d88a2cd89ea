package grpcrekey

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/oauth"

	"github.com/rekeyhq/rekey/credentials"
)

// BenchmarkCallCredentials isolates what the credentials add to a call,
// without the network: grpc-go calls oauth.TokenSource's
// GetRequestMetadata for every call; grpcrekey runs its unary interceptor,
// which hands the per-call credentials to the invoker, whose
// GetRequestMetadata grpc-go then calls. Both get the context grpc-go
// gives them on a TLS connection.
func BenchmarkCallCredentials(b *testing.B) {
	const token = "bench-token-0123456789abcdef"
	ctx := grpccreds.NewContextWithRequestInfo(context.Background(), grpccreds.RequestInfo{
		Method:   "/grpc.testing.TestService/UnaryCall",
		AuthInfo: grpccreds.TLSInfo{State: tls.ConnectionState{}, CommonAuthInfo: grpccreds.CommonAuthInfo{SecurityLevel: grpccreds.PrivacyAndIntegrity}},
	})
	tok := &oauth2.Token{AccessToken: token, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	sink := 0

	b.Run("creds=oauth-static", func(b *testing.B) {
		ts := oauth.TokenSource{TokenSource: oauth2.StaticTokenSource(tok)}
		b.ReportAllocs()
		for b.Loop() {
			md, err := ts.GetRequestMetadata(ctx, "https://api.test/grpc.testing.TestService")
			if err != nil {
				b.Fatal(err)
			}
			sink += len(md)
		}
	})
	b.Run("creds=oauth-reuse", func(b *testing.B) {
		ts := oauth.TokenSource{TokenSource: oauth2.ReuseTokenSource(tok, oauth2.StaticTokenSource(tok))}
		b.ReportAllocs()
		for b.Loop() {
			md, err := ts.GetRequestMetadata(ctx, "https://api.test/grpc.testing.TestService")
			if err != nil {
				b.Fatal(err)
			}
			sink += len(md)
		}
	})
	for _, tc := range []struct {
		name string
		p    credentials.Provider
	}{
		{"creds=grpcrekey", credentials.Static(token)},
		{"creds=grpcrekey-expiry", credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
			return credentials.Credential{Key: token, Expiry: time.Now().Add(time.Hour)}, nil
		})},
		{"creds=grpcrekey-pool3", credentials.NewPool(credentials.Static(token), credentials.Static(token+"-2"), credentials.Static(token+"-3"))},
		{"creds=grpcrekey-pool3-rr", credentials.NewPoolWith(credentials.PoolOptions{RoundRobin: true},
			credentials.Static(token), credentials.Static(token+"-2"), credentials.Static(token+"-3"))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rk, err := New(tc.p)
			if err != nil {
				b.Fatal(err)
			}
			defer rk.Close()
			if p, ok := tc.p.(*credentials.Pool); ok {
				defer p.Close()
			}
			// What grpc-go does with the call options: apply them, then ask
			// the per-call credentials for their metadata.
			invoker := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
				for _, o := range opts {
					if c, ok := o.(grpc.PerRPCCredsCallOption); ok {
						md, err := c.Creds.GetRequestMetadata(ctx, "https://api.test/grpc.testing.TestService")
						sink += len(md)
						return err
					}
				}
				return nil
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := rk.unary(ctx, "/grpc.testing.TestService/UnaryCall", nil, nil, nil, invoker); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if sink == 0 {
		b.Fatal("no metadata")
	}
}
