package grpcrekey_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// TestNewRefuses: New reports every bad option at once, saying what to do.
func TestNewRefuses(t *testing.T) {
	refresh := func(context.Context, credentials.Credential) (credentials.Credential, error) {
		return credentials.Credential{}, nil
	}
	cache := &credentials.Cache{Provider: credentials.Static("k")}
	cases := []struct {
		name string
		p    credentials.Provider
		opts []grpcrekey.Option
		want []string
	}{
		{name: "no provider", want: []string{"New(nil)", "credentials.Provider"}},
		{name: "nil cache", p: (*credentials.Cache)(nil), want: []string{"Cache is nil"}},
		{name: "cache and refresh", p: cache, opts: []grpcrekey.Option{grpcrekey.WithRefresh(refresh)}, want: []string{"set Refresh on the Cache"}},
		{name: "bad metadata keys", p: cache, opts: []grpcrekey.Option{
			grpcrekey.WithMetadataKey(""), grpcrekey.WithMetadataKey("grpc-timeout"), grpcrekey.WithMetadataKey("key-bin"),
			grpcrekey.WithMetadataKey("x api key"), grpcrekey.WithMetadataKey(":authority"),
		}, want: []string{`WithMetadataKey(""): empty name`, `"grpc-" are reserved`, `"-bin" name`, `' ' is not allowed`, `':' is not allowed`}},
		{name: "bad scheme", p: cache, opts: []grpcrekey.Option{grpcrekey.WithScheme("Bearer ")}, want: []string{"one word"}},
		{name: "nil values", p: cache, opts: []grpcrekey.Option{grpcrekey.WithRefresh(nil), grpcrekey.WithRejection(nil), grpcrekey.WithLogger(nil)},
			want: []string{"WithRefresh(nil)", "WithRejection(nil)", "WithLogger(nil)"}},
		{name: "negative replay limit", p: cache, opts: []grpcrekey.Option{grpcrekey.WithStreamReplayLimit(-1)}, want: []string{"WithStreamReplayLimit(-1)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rk, err := grpcrekey.New(tc.p, tc.opts...)
			if err == nil {
				rk.Close()
				t.Fatal("New succeeded; want an error")
			}
			if !strings.HasPrefix(err.Error(), "grpcrekey: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestMetadataAndScheme: the key goes in the configured metadata, with
// "Bearer " for authorization unless told otherwise, bare elsewhere.
func TestMetadataAndScheme(t *testing.T) {
	cases := []struct {
		name string
		opts []grpcrekey.Option
		md   string
		want string
	}{
		{name: "default", md: "authorization", want: "Bearer KEY"},
		{name: "authorization, bare", opts: []grpcrekey.Option{grpcrekey.WithScheme("")}, md: "authorization", want: "KEY"},
		{name: "authorization, other scheme", opts: []grpcrekey.Option{grpcrekey.WithScheme("ApiKey")}, md: "authorization", want: "ApiKey KEY"},
		{name: "custom metadata, bare by default", opts: []grpcrekey.Option{grpcrekey.WithMetadataKey("X-Goog-Api-Key")}, md: "x-goog-api-key", want: "KEY"},
		{name: "custom metadata with a scheme", opts: []grpcrekey.Option{grpcrekey.WithMetadataKey("api-key"), grpcrekey.WithScheme("Token")}, md: "api-key", want: "Token KEY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "key-" + newSecret()
			rk, err := grpcrekey.New(credentials.Static(key), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer rk.Close()
			got := make(chan metadata.MD, 1)
			rec := &mdRecorder{got: got}
			client := testgrpc.NewTestServiceClient(dialConn(t, rec.start(t), insecureCreds(), rk.DialOptions()))
			if _, err := client.EmptyCall(callCtx(t), &testgrpc.Empty{}); err != nil {
				t.Fatal(err)
			}
			md := testwait.Recv(t, got, testwait.Timeout, "the metadata the server saw")
			want := strings.ReplaceAll(tc.want, "KEY", key)
			if v := md.Get(tc.md); len(v) != 1 || v[0] != want {
				t.Errorf("metadata %q = %q; want [%q]", tc.md, v, want)
			}
		})
	}
}

// TestCredentialErrors: when no key can be had, nothing is sent and the
// error says why, with a gRPC status.
func TestCredentialErrors(t *testing.T) {
	api := newGoogleAPI(t)
	rk, err := grpcrekey.New(credentials.Env("REKEY_GRPC_TEST_UNSET_VARIABLE"))
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	client := api.dial(t, rk.DialOptions())
	_, err = unaryCall(callCtx(t), client, "x")
	var credErr *grpcrekey.CredentialError
	if !errors.As(err, &credErr) || !errors.Is(err, rekey.ErrNoCredentials) || status.Code(err) != codes.Unauthenticated ||
		credErr.Method != "/grpc.testing.TestService/UnaryCall" {
		t.Errorf("call without a key: %v (%T); want a CredentialError matching ErrNoCredentials, status Unauthenticated", err, err)
	}
	if n := api.calls.Load(); n != 0 {
		t.Errorf("server saw %d calls; want 0", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
		<-ctx.Done()
		return credentials.Credential{}, ctx.Err()
	})
	rk2, err := grpcrekey.New(slow)
	if err != nil {
		t.Fatal(err)
	}
	defer rk2.Close()
	_, err = testgrpc.NewTestServiceClient(dialConn(t, api.addr, insecureCreds(), rk2.DialOptions())).EmptyCall(ctx, &testgrpc.Empty{})
	if status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("call with a canceled context: %v; want status Canceled", err)
	}
}

// TestRejectedKeyCooldown: after a replay is rejected too, calls made again
// with that key fail at once, without another refresh, until the
// rejected-key cooldown ends; the error says so and keeps its status.
func TestRejectedKeyCooldown(t *testing.T) {
	api := newGoogleAPI(t)
	first := api.current()
	api.rotate()
	var refreshes atomic.Int64
	bad := func(context.Context, credentials.Credential) (credentials.Credential, error) {
		refreshes.Add(1)
		return credentials.Credential{Key: "AIzaSyStillBad-" + newSecret()}, nil
	}
	rk, err := grpcrekey.New(credentials.Static(first), grpcrekey.WithMetadataKey("x-goog-api-key"), grpcrekey.WithRefresh(bad))
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	client := api.dial(t, rk.DialOptions())
	ctx := callCtx(t)
	for i := range 5 {
		_, err := unaryCall(ctx, client, "x")
		if !errors.Is(err, rekey.ErrInvalidAPIKey) || status.Code(err) != codes.InvalidArgument {
			t.Fatalf("call %d: %v; want the rejection with its status", i, err)
		}
		if i > 0 && (!errors.Is(err, credentials.ErrRefreshedKeyRejected) || !errors.Is(err, rekey.ErrRefreshFailed)) {
			t.Errorf("call %d: %v; want ErrRefreshedKeyRejected (within the cooldown)", i, err)
		}
	}
	if refreshes.Load() != 1 {
		t.Errorf("%d refreshes for 5 calls; want 1", refreshes.Load())
	}
}

// TestNoKeyShown: no value of the package prints a key, in any verb, even
// when the server quotes the key in its message and its details.
func TestNoKeyShown(t *testing.T) {
	api := newGoogleAPI(t)
	api.setEcho(true)
	first := api.current()
	var logs syncBuffer
	rk, err := grpcrekey.New(credentials.Static(first), grpcrekey.WithMetadataKey("x-goog-api-key"), grpcrekey.WithRefresh(api.mint),
		grpcrekey.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	client := api.dial(t, rk.DialOptions())
	ctx := callCtx(t)
	warmUp(t, client)
	api.rotate()
	if _, err := unaryCall(ctx, client, "x"); err != nil {
		t.Fatalf("recovery: %v", err)
	}
	// Now a refresh that yields a key the server rejects too, quoting both.
	bad := "AIzaSyBad-" + newSecret()
	rk2, err := grpcrekey.New(credentials.Static(api.current()), grpcrekey.WithMetadataKey("x-goog-api-key"),
		grpcrekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: bad}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer rk2.Close()
	client2 := api.dial(t, rk2.DialOptions())
	warmUp(t, client2)
	api.rotate()
	_, err = unaryCall(ctx, client2, "x")
	if !errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("call: %v; want the rejection", err)
	}
	secrets := append(api.secrets(), bad)
	if l := leaks(err, secrets); len(l) > 0 {
		t.Errorf("error shows keys %v: %v", l, err)
	}
	st := status.Convert(err)
	if !strings.Contains(st.Message(), "[REDACTED]") || len(leaksIn(st.String(), secrets)) > 0 {
		t.Errorf("status %v; want the key replaced by [REDACTED]", st)
	}
	if len(st.Details()) != 1 { // the ErrorInfo quoting the key is left out, the RequestInfo kept
		t.Errorf("details %v; want only the RequestInfo", st.Details())
	}
	for _, v := range []any{rk, rk2} {
		if l := leaksIn(fmtAll(v), secrets); len(l) > 0 {
			t.Errorf("%T shows keys %v", v, l)
		}
	}
	if !strings.Contains(logs.String(), "rekey: API key rejected") {
		t.Errorf("nothing logged; the log check is void")
	}
	if l := leaksIn(logs.String(), secrets); len(l) > 0 {
		t.Errorf("log shows keys %v", l)
	}
}
