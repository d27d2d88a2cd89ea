package awssm_test

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey/credentials/awssm"
)

// client returns the official Secrets Manager client, configured as an
// application would (region, static credentials) but aimed at the fake.
func (f *fakeSM) client(opts ...func(*aws.Config)) *secretsmanager.Client {
	cfg := aws.Config{
		Region: fakeRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake-secret-access-key", Source: "test"}, nil
		}),
		BaseEndpoint: aws.String(f.srv.URL),
	}
	for _, o := range opts {
		o(&cfg)
	}
	return secretsmanager.NewFromConfig(cfg)
}

// fastRetries keeps the SDK's standard retryer but without its backoff
// delays, for tests that make it retry many times.
func fastRetries(cfg *aws.Config) {
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	}
}

// newKey returns a realistic random API key.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // never fails
	return "sk_live_" + hex.EncodeToString(b)
}

// logBuffer is an slog.Logger writing JSON into a buffer, safe for
// concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newProvider builds a Provider for secret through the fake's client,
// logging into a buffer the test can inspect.
func newProvider(t testing.TB, f *fakeSM, secret string, opts ...awssm.Option) (*awssm.Provider, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	p, err := awssm.New(f.client(), secret, append([]awssm.Option{awssm.WithLogger(logs.logger())}, opts...)...)
	if err != nil {
		t.Fatalf("awssm.New: %v", err)
	}
	return p, logs
}

// assertNoSecret fails if any secret shows up in any formatting of values:
// fmt's verbs, slog's text and JSON handlers.
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
	for _, s := range secrets {
		if s != "" && strings.Contains(out.String(), s) {
			t.Errorf("a secret leaked into formatted output:\n%s", out.String())
			return
		}
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func putInput(id, value string) *secretsmanager.PutSecretValueInput {
	return &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)}
}
