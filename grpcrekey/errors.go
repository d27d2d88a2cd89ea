package grpcrekey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// Error is returned for a call that the server rejected for its key when
// recovery could not fix it: the replay was rejected too, the refresh
// failed, the stream could not be replayed, or the caller's context ended
// while the key was being refreshed. With a *credentials.Pool, it is the
// last member's rejection, and its APIError.Err is a *rekey.PoolError
// that says what became of each member (index, redacted key, status, why
// it has no new key); errors.As finds it.
//
// It is two errors in one, so that code written for either keeps working:
//   - errors.Is(err, rekey.ErrInvalidAPIKey) holds, and so does
//     errors.Is(err, rekey.ErrRefreshFailed) when refreshing failed (with
//     the refresh hook's own error too); errors.As into *rekey.APIError
//     gives the decoded rejection (see [Error.APIError]);
//   - status.Code(err) and status.Convert(err) give the server's own status:
//     its code (codes.Unauthenticated, ...), message and details
//     (google.rpc.ErrorInfo, RequestInfo, ...), intact but for any text
//     that quoted a key sent, which is replaced by [REDACTED] (a detail
//     that quotes it is left out).
//
// Neither its text nor any of its fields holds a key.
type Error struct {
	// APIError is the rejection, decoded: StatusCode is the HTTP status the
	// gRPC code maps to (401 for Unauthenticated, 403 for PermissionDenied,
	// 400 for InvalidArgument); Code is the google.rpc.ErrorInfo reason
	// (API_KEY_INVALID) or else the code's name (UNAUTHENTICATED); Message
	// is the status message; RequestID comes from a
	// google.rpc.RequestInfo detail; Cause says why the key was rejected
	// when the server says so; Method is the full method name and URL is
	// "grpc://<authority>/<service>/<method>". Replayed, NotReplayed,
	// RefreshFailed and Err say what recovery did, as for HTTP.
	APIError *rekey.APIError

	status *status.Status
}

// Error describes the rejection and what recovery did, for a person.
func (e *Error) Error() string {
	a := e.APIError
	var b strings.Builder
	b.WriteString("rekey: invalid API key for ")
	b.WriteString(a.Method)
	b.WriteString(" (")
	b.WriteString(e.status.Code().String())
	if a.Code != "" && a.Code != codeName(e.status.Code()) {
		b.WriteString(" ")
		b.WriteString(a.Code)
	}
	b.WriteString(")")
	if msg := strings.TrimRight(a.Message, ". "); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if a.Cause != apierr.CauseUnknown {
		b.WriteString(" (key ")
		b.WriteString(a.Cause.String())
		b.WriteString(")")
	}
	pool, _ := a.Err.(*apierr.PoolError)
	switch {
	case pool != nil:
		switch {
		case a.Replayed:
			b.WriteString("; refreshed once, still rejected")
		case a.NotReplayed != "":
			b.WriteString("; call not replayed: ")
			b.WriteString(a.NotReplayed)
		}
		b.WriteString("; ")
		b.WriteString(strings.TrimPrefix(pool.Error(), "rekey: ")) // "no key of the pool could serve the request: [0] ..."
	case a.Replayed:
		b.WriteString("; refreshed once, still rejected")
	case a.RefreshFailed && errors.Is(a.Err, credentials.ErrRefreshedKeyRejected):
		b.WriteString("; refreshed once, the new key was rejected too (no new refresh until the cooldown ends)")
	case a.RefreshFailed && a.Err != nil:
		b.WriteString("; refreshing the key failed: ")
		b.WriteString(a.Err.Error())
	case a.Err != nil:
		b.WriteString("; gave up waiting for a new key: ")
		b.WriteString(a.Err.Error())
	case a.NotReplayed != "":
		b.WriteString("; key refreshed but call not replayed: ")
		b.WriteString(a.NotReplayed)
	}
	if a.RequestID != "" {
		b.WriteString(" (request ID ")
		b.WriteString(a.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the decoded rejection, through which errors.Is finds
// rekey.ErrInvalidAPIKey, rekey.ErrRefreshFailed and the refresh error.
func (e *Error) Unwrap() error { return e.APIError }

// GRPCStatus returns the server's status (see [Error]), for status.Code,
// status.Convert and status.FromError.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// scrub removes key from every text of e, its status included.
func (e *Error) scrub(key string) {
	e.APIError.Scrub(key)
	e.status = scrubStatus(e.status, key)
}

// scrubStatus returns st with key replaced in its message and any detail
// that contains it left out; st itself when it holds no key.
func scrubStatus(st *status.Status, key string) *status.Status {
	if key == "" {
		return st
	}
	p := st.Proto()
	dirty := strings.Contains(p.GetMessage(), key)
	kept := make([]*anypb.Any, 0, len(p.GetDetails()))
	for _, d := range p.GetDetails() {
		if bytes.Contains(d.GetValue(), []byte(key)) || strings.Contains(d.GetTypeUrl(), key) {
			dirty = true
			continue
		}
		kept = append(kept, d)
	}
	if !dirty {
		return st
	}
	p.Message = strings.ReplaceAll(p.GetMessage(), key, "[REDACTED]")
	p.Details = kept
	return status.FromProto(p)
}

// CredentialError is returned when a call was not sent because it could
// not carry a key: the provider (or the refresh hook, for the first key)
// failed after the Cache's own bounded retries, or the connection had no
// transport security (then it matches rekey.ErrInsecureRequest; see
// [WithInsecureTransport]). Err says why; errors.Is sees through it. Its
// gRPC status is Unauthenticated (as grpc-go's own per-call credentials
// fail), or Canceled or DeadlineExceeded when the caller's context ended
// first.
type CredentialError struct {
	Method string // the full method name, "/package.Service/Method"
	Err    error
}

// Error names the call and why it carried no key.
func (e *CredentialError) Error() string {
	return "rekey: no API key sent with " + e.Method + ": " + e.Err.Error()
}

// Unwrap returns why the call carried no key.
func (e *CredentialError) Unwrap() error { return e.Err }

// GRPCStatus returns the call's status: see [CredentialError].
func (e *CredentialError) GRPCStatus() *status.Status {
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return status.FromContextError(e.Err)
	}
	return status.New(codes.Unauthenticated, e.Error())
}

// insecureError is the error of a call refused by GetRequestMetadata.
func insecureError(method string, st *status.Status) error {
	why := strings.TrimPrefix(st.Message(), refusalPrefix)
	return &CredentialError{Method: method, Err: fmt.Errorf("%w: %s", apierr.ErrInsecureRequest, why)}
}
