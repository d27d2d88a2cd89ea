package credentials

import (
	"context"
	"fmt"
	"strings"
)

// Chain returns a Provider that asks each provider in order and yields the
// first key found. When none has one, the error is a [*ChainError] listing
// why each failed; it matches [ErrNoCredentials] and, with errors.Is/As,
// each provider's own error. A cancelled context stops the walk at once.
func Chain(providers ...Provider) Provider { return chain(providers) }

type chain []Provider

func (c chain) Retrieve(ctx context.Context) (Credential, error) {
	if len(c) == 0 {
		return Credential{}, unavailable("credentials.Chain has no providers", nil)
	}
	errs := make([]error, 0, len(c))
	for _, p := range c {
		if err := ctx.Err(); err != nil {
			return Credential{}, err
		}
		if p == nil {
			errs = append(errs, unavailable("nil provider", nil))
			continue
		}
		cred, err := p.Retrieve(ctx)
		if err == nil {
			return cred, nil
		}
		errs = append(errs, err)
	}
	return Credential{}, &ChainError{Errs: errs}
}

// String lists the chained providers.
func (c chain) String() string {
	parts := make([]string, len(c))
	for i, p := range c {
		// Only a provider's own String is trusted to redact; a type without
		// one is named, never dumped field by field.
		if s, ok := p.(fmt.Stringer); ok {
			parts[i] = s.String()
		} else {
			parts[i] = fmt.Sprintf("%T", p)
		}
	}
	return "credentials.Chain(" + strings.Join(parts, ", ") + ")"
}

// Format implements fmt.Formatter so that no verb reaches into a provider's
// fields; each provider prints as its own String.
func (c chain) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// ChainError is returned by a [Chain] in which no provider yielded a key.
type ChainError struct {
	// Errs holds each provider's error, in chain order.
	Errs []error
}

// Error lists each provider's failure.
func (e *ChainError) Error() string {
	var b strings.Builder
	b.WriteString("credentials: no provider in the chain yielded a key")
	for i, err := range e.Errs {
		fmt.Fprintf(&b, "; [%d] %s", i+1, strings.TrimPrefix(err.Error(), "credentials: "))
	}
	return b.String()
}

// Is reports whether target is [ErrNoCredentials].
func (e *ChainError) Is(target error) bool { return target == ErrNoCredentials }

// Unwrap returns the providers' errors, for errors.Is and errors.As.
func (e *ChainError) Unwrap() []error { return e.Errs }
