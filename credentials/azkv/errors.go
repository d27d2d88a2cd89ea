package azkv

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/rekeyhq/rekey/credentials"
)

// Errors matched with errors.Is by the errors a [Provider] returns. Each
// comes wrapped in an [*Error] that names the vault, the secret and the
// request; none ever contains the secret's value.
var (
	// ErrNotFound: the vault has no secret (or no such version) by that
	// name: 404 SecretNotFound, or a listing without a version. A deleted
	// secret answers the same. It also matches credentials.ErrNoCredentials.
	ErrNotFound = errors.New("azkv: secret not found")
	// ErrForbidden: Key Vault refused the read or the listing (403
	// Forbidden): the caller's identity lacks the "Key Vault Secrets User"
	// role (a vault using Azure RBAC) or the Get secret permission, or for
	// polling the List permission (a vault using access policies), or the
	// vault's firewall does not admit the client's address.
	ErrForbidden = errors.New("azkv: access forbidden")
	// ErrDisabled: the version read is disabled (403 SecretDisabled), or a
	// poll finds no usable version and the newest is disabled. It also
	// matches credentials.ErrNoCredentials.
	ErrDisabled = errors.New("azkv: secret version disabled")
	// ErrExpired: the version read is past its expiration date (its exp
	// attribute, or 403 SecretExpired), or a poll finds no usable version
	// and the newest expired. It also matches
	// credentials.ErrNoCredentials.
	ErrExpired = errors.New("azkv: secret version expired")
	// ErrThrottled: Key Vault kept answering 429 Throttled after the SDK's
	// retry policy had used its retries.
	ErrThrottled = errors.New("azkv: throttled")
	// ErrUnauthorized: Key Vault refused the token (401 after the bearer
	// challenge), or the TokenCredential given to [NewFromURL] could not get
	// one.
	ErrUnauthorized = errors.New("azkv: not authenticated")
	// ErrNoKey: the version holds no usable key: an empty value, a value
	// that is not a JSON object although a field was asked for, or a
	// missing, empty or non-string field; or a poll finds no usable version
	// and the newest is not valid yet (its nbf is ahead). It also matches
	// credentials.ErrNoCredentials.
	ErrNoKey = errors.New("azkv: no key in the secret")
)

// Error describes a failed read of a secret. It carries the facts an
// operator needs (which vault and secret, Key Vault's status, error code
// and request ID) and never the secret's value. errors.Is matches it
// against one of the package's sentinel errors (Kind), or
// credentials.ErrSameKey or credentials.ErrMalformedKey; errors.As reaches
// the SDK's own error through Err (an *azcore.ResponseError, for one).
type Error struct {
	Vault      string // the vault's host, such as "myvault.vault.azure.net"; "" if not known
	Name       string // the secret's name
	Version    string // the version read; "" for the current one
	Op         string // "Retrieve", "Refresh" or "Poll"
	StatusCode int    // Key Vault's HTTP status; 0 if none came
	Code       string // Key Vault's error code, such as "SecretNotFound" or "Forbidden"
	InnerCode  string // the inner error code, such as "SecretDisabled" or "ForbiddenByRbac"
	RequestID  string // the x-ms-request-id of the failed request, if any
	Kind       error  // ErrNotFound, ErrForbidden, ...; nil for other failures
	Err        error  // the underlying error, if any
	msg        string // what happened, when Kind and Err do not say it
	hint       string // what to do
	local      bool   // found by the Provider in a version it read, not by Key Vault
}

// Error renders the failure as one line: which secret, what failed, why,
// and what to do.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("azkv: ")
	if e.Op != "" {
		b.WriteString(e.Op + " ")
	}
	b.WriteString("secret " + strconv.Quote(e.Name))
	if e.Version != "" {
		b.WriteString(" version " + e.Version)
	}
	if e.Vault != "" {
		b.WriteString(" in " + e.Vault)
	}
	b.WriteString(": ")
	b.WriteString(e.summary())
	if e.hint != "" {
		b.WriteString(": ")
		b.WriteString(e.hint)
	}
	return b.String()
}

func (e *Error) summary() string {
	s := e.msg
	if s == "" && e.Kind != nil {
		s = strings.TrimPrefix(e.Kind.Error(), "azkv: ")
	}
	if e.StatusCode != 0 {
		code := strconv.Itoa(e.StatusCode)
		if e.Code != "" {
			code += " " + e.Code
		}
		if e.InnerCode != "" {
			code += "/" + e.InnerCode
		}
		s += " (" + code + ")"
	}
	if e.RequestID != "" {
		s += " [request id " + e.RequestID + "]"
	}
	return s
}

// Unwrap returns Kind and Err, so that errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Is reports whether target is credentials.ErrNoCredentials for the kinds
// that mean "no usable key in the store": not found, disabled, expired, no
// key in the value.
func (e *Error) Is(target error) bool {
	return target == credentials.ErrNoCredentials &&
		(e.Kind == ErrNotFound || e.Kind == ErrDisabled || e.Kind == ErrExpired || e.Kind == ErrNoKey)
}

// Format prints Error() for every verb, so that %+v and %#v do not dump
// the fields of the wrapped SDK error (its raw HTTP response among them).
func (e *Error) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(e.Error()))
		return
	}
	fmt.Fprint(f, e.Error())
}

// LogValue renders the error as its message in structured logs.
func (e *Error) LogValue() slog.Value { return slog.StringValue(e.Error()) }
