package azkv_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"go.uber.org/goleak"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
	"github.com/rekeyhq/rekey/rekeytest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// staticCredential is an azcore.TokenCredential that hands out one access
// token with an expiry: what an application's credential does, minus the
// sign-in. It records what it was asked for.
type staticCredential struct {
	token   string
	expires time.Time
	err     error // returned instead of a token, if set

	mu    sync.Mutex
	calls int
	asked []policy.TokenRequestOptions
}

func newCredential() *staticCredential {
	return &staticCredential{token: testToken, expires: time.Now().Add(time.Hour)}
}

func (c *staticCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.asked = append(c.asked, o)
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: c.expires}, nil
}

func (c *staticCredential) Calls() (int, []policy.TokenRequestOptions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, append([]policy.TokenRequestOptions(nil), c.asked...)
}

// clientOptions are the options a test client needs against the fake: the
// test server's certificate trusted (through its *http.Client), the
// challenge's resource not checked against the loopback host, and the
// retry policy's delays shortened so that retries cost counts, not time.
func (f *fakeKV) clientOptions() *azsecrets.ClientOptions {
	return &azsecrets.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: f.srv.Client(),
			Retry:     policy.RetryOptions{RetryDelay: time.Millisecond, MaxRetryDelay: 10 * time.Millisecond},
		},
		DisableChallengeResourceVerification: true,
	}
}

// client returns the official client, as an application or an operator
// would build it, aimed at the fake.
func (f *fakeKV) client(t testing.TB, cred azcore.TokenCredential) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(f.srv.URL, cred, f.clientOptions())
	if err != nil {
		t.Fatalf("azsecrets.NewClient: %v", err)
	}
	return c
}

// newProvider builds a Provider for name with NewFromURL, as an
// application would, aimed at the fake.
func newProvider(t testing.TB, f *fakeKV, name string, opts ...azkv.Option) *azkv.Provider {
	t.Helper()
	p, err := azkv.NewFromURL(f.srv.URL, newCredential(), name, append([]azkv.Option{azkv.WithClientOptions(f.clientOptions())}, opts...)...)
	if err != nil {
		t.Fatalf("azkv.NewFromURL: %v", err)
	}
	return p
}

// setSecret is an operator's az keyvault secret set, through the official
// client.
func setSecret(t testing.TB, c *azsecrets.Client, name, value string) string {
	t.Helper()
	out, err := c.SetSecret(context.Background(), name, azsecrets.SetSecretParameters{Value: &value}, nil)
	if err != nil {
		t.Fatalf("SetSecret: %v", err)
	}
	return out.ID.Version()
}

// newKey returns a realistic random API key.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // never fails
	return "sk_live_" + hex.EncodeToString(b)
}

// apiClient returns a rekey Client for srv whose key comes from p.
func apiClient(t testing.TB, srv *rekeytest.Server, p credentials.Provider, opts ...rekey.Option) *rekey.Client {
	t.Helper()
	c, err := rekey.NewClient(srv.URL, append([]rekey.Option{rekey.WithCredentials(p)}, opts...)...)
	if err != nil {
		t.Fatalf("rekey.NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(ctx context.Context, c *rekey.Client) error {
	req, err := c.NewRequest(ctx, "GET", "/v1/echo", nil)
	if err != nil {
		return err
	}
	_, err = c.Do(req, nil)
	return err
}

// logBuffer is a log destination that background polls may write to while
// a test reads it.
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

// assertNoSecret fails if a secret (or the access token) shows up in any
// formatting of values: fmt's verbs, slog's text and JSON handlers.
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
		if b, err := json.Marshal(v); err == nil {
			out.Write(b)
		}
	}
	for _, s := range append(secrets, testToken) {
		if s != "" && strings.Contains(out.String(), s) {
			t.Errorf("a secret leaked into formatted output:\n%s", out.String())
			return
		}
	}
}

// waitFor waits for cond, failing the test after a generous bound: a
// deadline against hangs, not a timing assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
