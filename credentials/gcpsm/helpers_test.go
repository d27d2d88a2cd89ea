package gcpsm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/rekeyhq/rekey/credentials/gcpsm"
)

// client returns the official Secret Manager client (gRPC), built as an
// application builds it but aimed at the fake: its endpoint, no Google
// credentials, a plaintext connection. The test's cleanup closes it.
func (f *fakeSM) client(t testing.TB) *secretmanager.Client {
	t.Helper()
	c, err := secretmanager.NewClient(context.Background(),
		option.WithEndpoint(f.addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fastRetries keeps the client's retry policy for AccessSecretVersion (the
// same codes) but with millisecond backoff instead of 2 s to 60 s, the way
// an application tunes the client's CallOptions.
func fastRetries(c *secretmanager.Client) *secretmanager.Client {
	c.CallOptions.AccessSecretVersion = []gax.CallOption{gax.WithRetry(func() gax.Retryer {
		return gax.OnCodes([]codes.Code{codes.Unavailable, codes.ResourceExhausted},
			gax.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, Multiplier: 2})
	})}
	return c
}

// newKey returns a realistic random API key.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // never fails
	return "sk_live_" + hex.EncodeToString(b)
}

// otherValue is stored beside the key in JSON payloads; it must never show
// up anywhere either.
const otherValue = "db-password-Zq8xW2pLk9vT"

func jsonPayload(key string) string {
	return `{"api_key": "` + key + `", "db_password": "` + otherValue + `"}`
}

// newProvider builds a Provider for secretName through the fake's client,
// logging into a buffer the test can inspect.
func newProvider(t testing.TB, f *fakeSM, opts ...gcpsm.Option) (*gcpsm.Provider, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	p, err := gcpsm.New(f.client(t), secretName, append([]gcpsm.Option{gcpsm.WithLogger(logs.logger())}, opts...)...)
	if err != nil {
		t.Fatalf("gcpsm.New: %v", err)
	}
	return p, logs
}

// logBuffer is a JSON slog destination that background polls may write to
// while a test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// assertNoSecret fails if any of secrets (or otherValue) shows up in any
// rendering of values: fmt's verbs, Error(), slog's text and JSON handlers.
func assertNoSecret(t testing.TB, secrets []string, values ...any) {
	t.Helper()
	var out strings.Builder
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		if err, ok := v.(error); ok && err != nil {
			out.WriteString(err.Error() + "\n")
		}
		slog.New(slog.NewTextHandler(&out, nil)).Info("value", "v", v)
		slog.New(slog.NewJSONHandler(&out, nil)).Info("value", "v", v)
	}
	for _, s := range append(secrets, otherValue) {
		if s == "" {
			continue
		}
		// The key itself, and its random part alone (in case a prefix was cut).
		for _, needle := range []string{s, strings.TrimPrefix(s, "sk_live_")} {
			if strings.Contains(out.String(), needle) {
				t.Errorf("a secret leaked into formatted output:\n%s", out.String())
				return
			}
		}
	}
}
