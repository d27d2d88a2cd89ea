package gcpsm

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/rekeyhq/rekey/credentials"
)

// Errors matched with errors.Is by the errors a [Provider] returns. Each
// comes in an [*Error] that names the secret, the version and the call, and
// says what to do; none ever contains the secret's value.
var (
	// ErrNotFound: the secret does not exist, has no versions, or has no
	// such version or alias (NOT_FOUND). It also matches
	// credentials.ErrNoCredentials.
	ErrNotFound = errors.New("gcpsm: secret or version not found")
	// ErrPermissionDenied: the caller may not make the call
	// (PERMISSION_DENIED): a missing IAM role, or the Secret Manager API not
	// enabled in the project. Reading needs roles/secretmanager.secretAccessor
	// (secretmanager.versions.access); polling needs
	// secretmanager.versions.get (roles/secretmanager.viewer).
	ErrPermissionDenied = errors.New("gcpsm: permission denied")
	// ErrUnauthenticated: Secret Manager refused the client's credentials
	// (UNAUTHENTICATED): an expired or revoked token, a deleted service
	// account key.
	ErrUnauthenticated = errors.New("gcpsm: credentials refused")
	// ErrVersionDisabled: the version read is DISABLED (FAILED_PRECONDITION):
	// the pinned version, the alias's, or, for "latest", the newest version
	// when no version is enabled. It also matches
	// credentials.ErrNoCredentials.
	ErrVersionDisabled = errors.New("gcpsm: secret version disabled")
	// ErrVersionDestroyed: the version read is DESTROYED: its data is gone
	// (FAILED_PRECONDITION); as ErrVersionDisabled for which version. It
	// also matches credentials.ErrNoCredentials.
	ErrVersionDestroyed = errors.New("gcpsm: secret version destroyed")
	// ErrQuotaExceeded: the project's Secret Manager quota ran out
	// (RESOURCE_EXHAUSTED), and stayed out through the client's retries.
	ErrQuotaExceeded = errors.New("gcpsm: quota exceeded")
	// ErrNoKey: the version holds no usable key: an empty payload, a payload
	// that is not a JSON object although [WithField] was given, or a
	// missing, empty or non-string field. It also matches
	// credentials.ErrNoCredentials.
	ErrNoKey = errors.New("gcpsm: no key in the secret")
)

// Error describes a failed read of a secret. It carries what an operator
// needs (the secret, the version asked for, the call, the gRPC code and
// reason, the calls made) and never the secret's value. errors.Is matches its
// Kind (one of the sentinels above, credentials.ErrSameKey or
// credentials.ErrMalformedKey), and errors.As reaches the client's own error
// through Err (an *apierror.APIError, whose GRPCStatus and Details hold the
// service's answer).
type Error struct {
	Secret   string     // the secret's resource name, without a version
	Version  string     // the version asked for: "latest", a number or an alias
	Op       string     // "AccessSecretVersion" or "GetSecretVersion"
	Code     codes.Code // the gRPC status code; codes.OK when the Provider found the fault in a payload it read
	Reason   string     // the reason of the answer's google.rpc.ErrorInfo, such as "RATE_LIMIT_EXCEEDED"; "" if none
	Attempts int        // calls made, the client's retries included; 0 when no call failed
	Kind     error      // ErrNotFound, ErrPermissionDenied, ...; nil for other failures
	Err      error      // the underlying error, if any
	msg      string     // what happened, when Kind and Err do not say it
	hint     string     // what to do
	resolved string     // for a version not enabled: its number
	state    string     // and its state, "DISABLED" or "DESTROYED"
}

// Error renders the failure on one line: which secret and version, the call,
// what went wrong, and what to do.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gcpsm: secret ")
	b.WriteString(e.Secret)
	if e.Version != "" {
		b.WriteString(" version ")
		b.WriteString(e.Version)
	}
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
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
	switch {
	case e.msg != "":
		return e.msg
	case e.Err != nil:
		return e.Err.Error()
	case e.Kind != nil:
		return strings.TrimPrefix(e.Kind.Error(), "gcpsm: ")
	}
	return "failed"
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
// that mean "no key to be had": not found, a disabled or destroyed version,
// no key in the payload.
func (e *Error) Is(target error) bool {
	if target != credentials.ErrNoCredentials {
		return false
	}
	switch e.Kind {
	case ErrNotFound, ErrVersionDisabled, ErrVersionDestroyed, ErrNoKey:
		return true
	}
	return false
}

// Format prints Error() for every verb, so that %+v and %#v do not dump the
// fields of the wrapped client error.
func (e *Error) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", e.Error())
		return
	}
	fmt.Fprint(f, e.Error())
}

// LogValue renders the error as its message in structured logs.
func (e *Error) LogValue() slog.Value { return slog.StringValue(e.Error()) }
