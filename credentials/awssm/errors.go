package awssm

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithy "github.com/aws/smithy-go"

	"github.com/rekeyhq/rekey/credentials"
)

// Errors matched with errors.Is by the errors a [Provider] returns. Each
// comes wrapped in an [*Error] that names the secret and the AWS request; none
// ever contains the secret's value.
var (
	// ErrNotFound: the secret does not exist in the client's account and
	// region (ResourceNotFoundException). It also matches
	// credentials.ErrNoCredentials.
	ErrNotFound = errors.New("awssm: secret not found")
	// ErrAccessDenied: the caller's IAM identity may not read the secret or
	// decrypt it (AccessDeniedException, DecryptionFailure).
	ErrAccessDenied = errors.New("awssm: access denied")
	// ErrThrottled: Secrets Manager kept throttling the requests after the
	// SDK's retryer had used all its attempts.
	ErrThrottled = errors.New("awssm: throttled")
	// ErrDeleted: the secret is deleted or scheduled for deletion. It also
	// matches credentials.ErrNoCredentials.
	ErrDeleted = errors.New("awssm: secret deleted or scheduled for deletion")
	// ErrNoKey: the secret version holds no usable key: no SecretString, a
	// SecretString that is not a JSON object although a field was asked
	// for, or a missing or non-string field. It also matches
	// credentials.ErrNoCredentials.
	ErrNoKey = errors.New("awssm: no key in the secret")
	// ErrRotation: a rotation started with [WithRotation] could not be
	// started, or did not produce a new AWSCURRENT version within the bound.
	ErrRotation = errors.New("awssm: rotation failed")
)

// Error describes a failed read (or rotation) of a secret. It carries the
// facts an operator needs (which secret, which call, the AWS error code and
// request ID) and never the secret's value. errors.Is matches it against one
// of the package's sentinel errors (Kind), and errors.As reaches the SDK's
// own error through Err (for example *types.ResourceNotFoundException or
// smithy.APIError).
type Error struct {
	SecretID  string // the name or ARN the Provider was given
	Op        string // "GetSecretValue", "DescribeSecret", "RotateSecret", or "" for a local check
	Stage     string // the version stage read ("AWSCURRENT", "AWSPENDING"), if any
	Code      string // the AWS error code, such as "ResourceNotFoundException"; "" if none
	RequestID string // the x-amzn-RequestId of the failed call, if any
	Kind      error  // ErrNotFound, ErrAccessDenied, ...; nil for other failures
	Err       error  // the underlying error, if any
	msg       string // what happened, when Kind and Err do not say it
	hint      string // what to do, appended to the message
	local     bool   // found by the Provider in a secret it read, not by AWS
}

// Error renders the failure as one line: what failed, why, and what to do.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("awssm: secret ")
	b.WriteString(fmt.Sprintf("%q", e.SecretID))
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
		if e.Stage != "" {
			b.WriteString(" " + e.Stage)
		}
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
		s = strings.TrimPrefix(e.Kind.Error(), "awssm: ")
	}
	if e.Err != nil {
		detail := causeText(e.Err)
		if s == "" {
			s = detail
		} else if detail != "" {
			s += " (" + detail + ")"
		}
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
// that mean "no key available": not found, deleted, no key in the secret.
func (e *Error) Is(target error) bool {
	return target == credentials.ErrNoCredentials &&
		(e.Kind == ErrNotFound || e.Kind == ErrDeleted || e.Kind == ErrNoKey)
}

// Format prints Error() for every verb, so that %+v and %#v do not dump
// the fields of the wrapped SDK error.
func (e *Error) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", e.Error())
		return
	}
	fmt.Fprint(f, e.Error())
}

// LogValue renders the error as its message in structured logs.
func (e *Error) LogValue() slog.Value { return slog.StringValue(e.Error()) }

// causeText describes an SDK error without the SDK's wrapping noise: the
// AWS error code and message when there is one, else the error's text. AWS
// error messages name the secret and the action, never its value.
func causeText(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		msg := apiErr.ErrorMessage()
		if msg == "" {
			return apiErr.ErrorCode()
		}
		return apiErr.ErrorCode() + ": " + msg
	}
	return err.Error()
}

// classify turns an error from the SDK into an *Error with a kind and a hint.
func (p *Provider) classify(op, stage string, err error) *Error {
	e := &Error{SecretID: p.id, Op: op, Stage: stage, Err: err}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.RequestID = re.ServiceRequestID()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		e.Code = apiErr.ErrorCode()
	}
	var attempts string
	var maxErr *retry.MaxAttemptsError
	if errors.As(err, &maxErr) {
		attempts = fmt.Sprintf(" (the SDK's retryer gave up after %d attempts)", maxErr.Attempt)
	}
	switch {
	case e.Code == "ResourceNotFoundException":
		e.Kind = ErrNotFound
		e.hint = "check the secret's name or ARN, and that the client's region and account are the secret's"
	case e.Code == "AccessDeniedException":
		e.Kind = ErrAccessDenied
		e.hint = "grant the caller secretsmanager:" + op + " on the secret"
		if op == "GetSecretValue" {
			e.hint += " (and kms:Decrypt on its key if it is a customer managed key)"
		}
	case e.Code == "DecryptionFailure":
		e.Kind = ErrAccessDenied
		e.hint = "grant the caller kms:Decrypt on the secret's KMS key, and check that the key is enabled"
	case isThrottle(err):
		e.Kind = ErrThrottled
		e.hint = "Secrets Manager is throttling this account" + attempts + ": read the secret less often (a longer WithPollInterval) or raise the SDK's retry attempts"
	case e.Code == "InvalidRequestException" && strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "deletion"):
		e.Kind = ErrDeleted
		e.hint = "restore it with RestoreSecret (aws secretsmanager restore-secret) or point the Provider at another secret"
	}
	return e
}

// isThrottle reports whether err is a throttling answer, by the SDK's own
// list of throttling error codes.
func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
}

// deletedError describes a secret whose DescribeSecret shows a DeletedDate.
func (p *Provider) deletedError(op string, deleted time.Time, requestID string) *Error {
	return &Error{
		SecretID: p.id, Op: op, Kind: ErrDeleted, RequestID: requestID,
		hint: "it was scheduled for deletion on " + deleted.UTC().Format(time.RFC3339) +
			": restore it with RestoreSecret (aws secretsmanager restore-secret) or point the Provider at another secret",
	}
}

// localError is a failure found by the Provider itself, after a successful
// read: a missing field, a SecretString that is not JSON.
func (p *Provider) localError(stage, versionID string, kind error, msg, hint string) *Error {
	if versionID != "" {
		msg += " (version " + versionID + ")"
	}
	return &Error{SecretID: p.id, Op: "GetSecretValue", Stage: stage, Kind: kind, msg: msg, hint: hint, local: true}
}
