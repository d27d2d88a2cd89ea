package grpcrekey_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/grpcrekey"
)

// tlsPair returns TLS credentials for a server named "api.test" and for a
// client that trusts it, from a self-signed certificate made for the test.
func tlsPair(t testing.TB) (server, client grpccreds.TransportCredentials) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "api.test"},
		DNSNames:     []string{"api.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = grpccreds.NewTLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv}}})
	client = grpccreds.NewTLS(&tls.Config{RootCAs: pool, ServerName: "api.test"})
	return server, client
}

// bufconnAPI starts the fake Google API on an in-process listener (whose
// peer address is not loopback) and returns a dial option that reaches it.
func bufconnAPI(t testing.TB, opts ...grpc.ServerOption) (*googleAPI, grpc.DialOption) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	api := &googleAPI{expired: map[string]bool{}, addr: "bufconn", minted: make(chan struct{}, 1)}
	api.rotate()
	api.serve(t, lis, opts...)
	return api, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
}

// TestTransportSecurity: the key goes only over a connection with transport
// security, to a loopback address or over a Unix socket, unless
// WithInsecureTransport says otherwise. A refused call sends nothing.
func TestTransportSecurity(t *testing.T) {
	serverTLS, clientTLS := tlsPair(t)
	cases := []struct {
		name    string
		tls     bool
		opts    []grpcrekey.Option
		refused bool
	}{
		{name: "in-process, no TLS: refused", refused: true},
		{name: "in-process, no TLS, WithInsecureTransport", opts: []grpcrekey.Option{grpcrekey.WithInsecureTransport()}},
		{name: "in-process, TLS", tls: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sopts []grpc.ServerOption
			tc2 := insecure.NewCredentials()
			if tc.tls {
				sopts, tc2 = []grpc.ServerOption{grpc.Creds(serverTLS)}, clientTLS
			}
			api, dialer := bufconnAPI(t, sopts...)
			rk, _ := newCredentials(t, api, tc.opts...)
			conn := dialConn(t, "api.test", tc2, append(rk.DialOptions(), dialer))
			_, err := unaryCall(callCtx(t), testgrpc.NewTestServiceClient(conn), "x")
			if !tc.refused {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				return
			}
			var credErr *grpcrekey.CredentialError
			if !errors.Is(err, rekey.ErrInsecureRequest) || !errors.As(err, &credErr) || status.Code(err) != codes.Unauthenticated ||
				errors.Is(err, rekey.ErrInvalidAPIKey) {
				t.Fatalf("call: %v (%T); want a CredentialError matching ErrInsecureRequest, with status Unauthenticated", err, err)
			}
			if n := api.calls.Load(); n != 0 {
				t.Errorf("the server saw %d calls; want 0", n)
			}
			if l := leaks(err, api.secrets()); len(l) > 0 {
				t.Errorf("error shows keys %v", l)
			}
			t.Logf("refused: %v", err)
		})
	}

	t.Run("unix socket, no TLS", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "api.sock")
		lis, err := net.Listen("unix", sock)
		if err != nil {
			t.Skipf("no Unix sockets here: %v", err)
		}
		api := &googleAPI{expired: map[string]bool{}, addr: sock, minted: make(chan struct{}, 1)}
		api.rotate()
		api.serve(t, lis)
		rk, rec := newCredentials(t, api)
		conn, err := grpc.NewClient("unix://"+sock, append(rk.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := testgrpc.NewTestServiceClient(conn)
		warmUp(t, client)
		api.rotate()
		if _, err := unaryCall(callCtx(t), client, "x"); err != nil {
			t.Fatalf("call: %v", err)
		}
		if ev := rec.first(); ev.URL != "grpc://localhost/grpc.testing.TestService/UnaryCall" {
			t.Errorf("event URL %q; want grpc://localhost/... for a Unix socket", ev.URL)
		}
	})
}
