package vault

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rekeyhq/rekey/credentials"
)

// Errors matched with errors.Is by the errors of a [Provider]. Every error
// the Provider returns is an [*Error]; none contains the key, the secret's
// other values or the Vault token.
var (
	// ErrSealed: Vault answered 503 "Vault is sealed".
	ErrSealed = errors.New("vault: Vault is sealed")
	// ErrPermissionDenied: Vault answered 403: the token's policies do not
	// allow the read, or the token is missing, expired or revoked.
	ErrPermissionDenied = errors.New("vault: permission denied")
	// ErrNotFound: there is no secret at the mount and path. It also
	// matches [credentials.ErrNoCredentials].
	ErrNotFound = errors.New("vault: secret not found")
	// ErrFieldNotFound: the secret has no field of the given name. It also
	// matches [credentials.ErrNoCredentials].
	ErrFieldNotFound = errors.New("vault: field not found in the secret")
	// ErrVersionDeleted: the version read (the latest, unless polling found
	// a newer one) was deleted or destroyed. It also matches
	// [credentials.ErrNoCredentials].
	ErrVersionDeleted = errors.New("vault: secret version deleted or destroyed")
	// ErrNotKVv2: the mount is not a KV version 2 secrets engine (a KV
	// version 1 mount, another engine), or Vault's answer is not shaped
	// like a KV version 2 read.
	ErrNotKVv2 = errors.New("vault: not a KV version 2 secret")
)

// Error is the error of a failed read of the key from Vault. It says what
// was read, what went wrong and what to do; it never holds a secret value or
// the token. Match its kind with errors.Is against the Err* variables above,
// [credentials.ErrSameKey] (Refresh found nothing newer than the rejected
// key), [credentials.ErrMalformedKey] or [credentials.ErrNoCredentials];
// errors.As reaches the Vault client's own error (an *api.ResponseError, a
// *url.Error) when there is one.
type Error struct {
	// Op is what the Provider was doing: "read" (Retrieve), "refresh"
	// (Refresh, after a rejection or ahead of expiry) or "poll".
	Op string
	// Path is the Vault API path concerned, without "/v1/", such as
	// "secret/data/myapp/billing" or "secret/metadata/myapp/billing".
	Path string
	// StatusCode is Vault's HTTP status, or 0 when Vault's answer was not
	// an error status (or no answer came).
	StatusCode int
	// Problem says what went wrong and what to do about it.
	Problem string

	kind error // one of the sentinels, or nil
	err  error // the Vault client's error, if any
}

// Error returns "vault: <op> <path>: <problem>".
func (e *Error) Error() string {
	return "vault: " + e.Op + " " + e.Path + ": " + e.Problem
}

// Unwrap returns the Vault client's error, if any.
func (e *Error) Unwrap() error { return e.err }

// Is matches the error's kind, and [credentials.ErrNoCredentials] for the
// kinds that mean no key is there at all.
func (e *Error) Is(target error) bool {
	if e.kind == nil {
		return false
	}
	if target == e.kind {
		return true
	}
	if target == credentials.ErrNoCredentials {
		return e.kind == ErrNotFound || e.kind == ErrFieldNotFound || e.kind == ErrVersionDeleted
	}
	return false
}

// Format implements fmt.Formatter: every verb prints Error's message, so
// that %+v and %#v cannot dump the wrapped client error's fields.
func (e *Error) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", e.Error())
		return
	}
	fmt.Fprint(f, e.Error())
}

// vaultMessages renders Vault's own error messages on one line, bounded.
// Vault's messages name paths and reasons ("permission denied", "Vault is
// sealed"), never secret values; a raw, non-JSON body is left out.
func vaultMessages(msgs []string, raw bool) string {
	if raw {
		return ""
	}
	var parts []string
	for _, m := range msgs {
		// Vault wraps multierrors as "1 error occurred:\n\t* permission denied\n\n".
		for _, line := range strings.Split(m, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "* "))
			if line == "" || strings.HasSuffix(line, "error occurred:") || strings.HasSuffix(line, "errors occurred:") {
				continue
			}
			parts = append(parts, line)
		}
	}
	s := strings.Join(parts, "; ")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
