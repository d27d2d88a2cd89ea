package credentials

import (
	"context"
	"errors"
	"strings"
)

// Provider supplies the current credential. Implementations must be safe for
// concurrent use. Retrieve should return a fresh read of its source: caching
// and coalescing are the job of [Cache], which the transport puts in front of
// every Provider.
type Provider interface {
	Retrieve(ctx context.Context) (Credential, error)
}

// ProviderFunc adapts a function to [Provider]. Its result is checked with
// [Validate] before it is returned.
type ProviderFunc func(ctx context.Context) (Credential, error)

// Retrieve calls f and validates the key it returns.
func (f ProviderFunc) Retrieve(ctx context.Context) (Credential, error) {
	c, err := f(ctx)
	if err != nil {
		return Credential{}, err
	}
	if err := validateFrom("ProviderFunc", c.Key); err != nil {
		return Credential{}, err
	}
	return c, nil
}

// RefreshFunc obtains a new credential after the API rejected one. rejected
// is the credential the API refused (or, for a refresh ahead of expiry, the
// one about to expire); a hook that mints keys can use it to revoke or
// replace exactly that key. Return an error wrapped with [Permanent] when
// retrying cannot help (for example, the account secret itself is invalid).
type RefreshFunc func(ctx context.Context, rejected Credential) (Credential, error)

// ErrNoCredentials is matched (with errors.Is) by errors meaning that no API
// key is available at all: an unset variable, a missing file, a chain in which
// no provider had a key.
var ErrNoCredentials = errors.New("credentials: no API key available")

// unavailableError is an ErrNoCredentials with a precise message.
type unavailableError struct {
	msg string
	err error // the underlying cause, if any
}

func (e *unavailableError) Error() string        { return e.msg }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrNoCredentials }
func unavailable(msg string, err error) error {
	return &unavailableError{msg: "credentials: " + msg, err: err}
}
func trimKey(s string) string { return strings.TrimSpace(s) }

// Refresher is implemented by a Provider that knows how to replace a rejected
// credential itself, when re-reading its source is not enough (an OAuth2
// token source that still believes its token valid, for example). A [Cache]
// with no RefreshFunc of its own uses it.
type Refresher interface {
	Refresh(ctx context.Context, rejected Credential) (Credential, error)
}
