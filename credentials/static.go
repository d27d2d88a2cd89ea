package credentials

import (
	"context"
	"fmt"
)

// Static returns a Provider that always yields key, with no known expiry.
// Surrounding whitespace is trimmed; the key is checked with [Validate] on
// every Retrieve, so a malformed key fails the first request with a clear
// error. A static key cannot be refreshed by re-reading it: pair it with a
// [RefreshFunc] if the API lets you mint a new one.
func Static(key string) Provider {
	return &static{cred: Credential{Key: trimKey(key)}}
}

type static struct{ cred Credential }

func (s *static) Retrieve(context.Context) (Credential, error) {
	if err := validateFrom("credentials.Static", s.cred.Key); err != nil {
		return Credential{}, err
	}
	return s.cred, nil
}

// String renders the provider with its key redacted.
func (s *static) String() string { return "credentials.Static(" + Redact(s.cred.Key) + ")" }

// Format implements fmt.Formatter so that no verb prints the key.
func (s *static) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// Refresh implements [Refresher]: a static key has no source to re-read, so
// it fails at once, without the retries a transient failure would get.
func (s *static) Refresh(context.Context, Credential) (Credential, error) {
	return Credential{}, Permanent(fmt.Errorf("%w: credentials.Static cannot supply another key; give the transport a RefreshFunc (rekey.WithRefresh) or use a provider that re-reads its source", ErrSameKey))
}
