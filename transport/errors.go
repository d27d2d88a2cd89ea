package transport

import "github.com/rekeyhq/rekey/internal/apierr"

// ConnectionError is returned when a request's connection failed before its
// whole response arrived (a reset, a connection closed early, a network
// error) and the failure is handed to the caller: by [Retry] when the
// request is not retried (a POST without an Idempotency-Key, a body that
// cannot be re-read, retries off), wrapped in a [RetryError] when retries
// ran out, and by rekey.Client.Do when a response body is cut off. Its
// message says what happened in words, not net/http's bare "EOF"; NotRetried
// says why it was not retried, and a non-zero StatusCode that the API
// received the request. It matches rekey.ErrConnection, and errors.Is and
// errors.As see through it to the network layer's error (io.EOF,
// syscall.ECONNRESET, a *net.OpError).
//
// It is the same type as rekey.ConnectionError.
type ConnectionError = apierr.ConnectionError

// CredentialError is returned when the Transport could not obtain a key to
// send: the provider (or the refresh hook, for the first key) failed, after
// the Cache's own bounded retries. Nothing was sent. Err says why; errors.Is
// sees through it (to credentials.ErrNoCredentials, credentials.ErrMalformedKey,
// a context error, or the provider's own error). [Retry] does not retry it.
type CredentialError struct {
	Method string
	URL    string // scheme, host and path only
	Err    error
}

// Error names the request and why no key was available.
func (e *CredentialError) Error() string {
	return "rekey: no API key for " + e.Method + " " + e.URL + ": " + e.Err.Error()
}

// Unwrap returns why no key was available.
func (e *CredentialError) Unwrap() error { return e.Err }

func credentialError(method, url string, err error) error {
	return &CredentialError{Method: method, URL: url, Err: err}
}
