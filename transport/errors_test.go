package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// A provider whose token endpoint is down fails with a network error. The
// Cache retries it with its own bounded backoff; the outer Retry layer must
// not multiply those attempts by retrying the whole request.
func TestCredentialFailureIsNotRetriedByTheRetryLayer(t *testing.T) {
	srv := newAPI(t, oldKey)
	var calls atomic.Int64
	down := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cache := &credentials.Cache{
		Provider: credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
			calls.Add(1)
			return credentials.Credential{}, down
		}),
		RefreshAttempts: 2,
		Cooldown:        -1,
	}
	client := &http.Client{Transport: &transport.Retry{
		Base:   &transport.Transport{Credentials: cache},
		Policy: transport.RetryPolicy{MaxAttempts: 5, MinWait: 1, MaxWait: 1},
	}}
	_, err := get(t, client, srv.URL)
	var credErr *transport.CredentialError
	if !errors.As(err, &credErr) || !errors.Is(err, down) {
		t.Fatalf("err = %v, want a *transport.CredentialError wrapping the provider's error", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("provider called %d times, want 2 (the Cache's attempts, not multiplied by retries)", got)
	}
	if srv.requests.Load() != 0 {
		t.Errorf("%d requests sent without a key", srv.requests.Load())
	}
}

func TestRetryErrorExplainsABareEOF(t *testing.T) {
	err := &transport.RetryError{Method: "GET", URL: "https://api.example.com/v1", Attempts: 3, Err: io.ErrUnexpectedEOF}
	want := "rekey: GET https://api.example.com/v1 failed after 3 attempts: the server closed the connection without a response (unexpected EOF)"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("errors.Is(err, io.ErrUnexpectedEOF) = false")
	}
}
