// Package apierr defines rekey's error values once, so that the root package
// (which re-exports them) and package transport (which returns them) share a
// single identity for errors.Is and errors.As without an import cycle.
//
// Application code should use the re-exported names in package rekey.
//
// It also holds what every transport shares about an API's error response:
// Decode reads a response into an APIError by its structure and the names
// of its fields, never by which API sent it (JSON, XML, HTML, text and the
// WWW-Authenticate header); Classify decides from an error's code and
// message whether it is the invalid-key rejection and names its cause
// (CauseOf), for HTTP statuses and gRPC status codes alike. The corpus of
// real responses they are tested against is in testdata/rejections.
package apierr

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/rekeyhq/rekey/credentials"
)

// Sentinels. See the re-exported names in package rekey for their contracts.
var (
	ErrInvalidAPIKey   = errors.New("rekey: invalid API key")
	ErrRefreshFailed   = errors.New("rekey: refreshing the API key failed")
	ErrInsecureRequest = errors.New("rekey: refused to send an API key over an insecure connection")
	ErrRateLimited     = errors.New("rekey: rate limited")
	ErrServer          = errors.New("rekey: server error")
)

// APIError is an error response from the API. See rekey.APIError.
type APIError struct {
	// StatusCode is the HTTP status of the response, e.g. 401.
	StatusCode int
	// Code is the API's machine-readable error code: the member of the
	// error object whose name says so (code, error_code, a google.rpc.ErrorInfo
	// reason, an OAuth "error", a type or status that is an identifier),
	// e.g. "invalid_api_key" or "API_KEY_INVALID". See Decode.
	Code string
	// Message is the API's human-readable message: message,
	// error_description, detail, a sentence alone in "error", the title of
	// an HTML error page, or a short plain-text body.
	Message string
	// RequestID is the server's request identifier, from a response header
	// whose name says so (X-Request-Id, *-Request-Id, *-Trace-Id, ...) or a
	// body member (request_id, requestId, correlationId, *trace_id,
	// errorId), when present: quote it to the API's support.
	RequestID string
	// Cause says why the key was rejected, when the API says so: a code
	// naming expiry against one naming invalidity, a message saying
	// "expired" or "revoked". It is CauseUnknown when the API does not say
	// or names several causes, and for every error that is not the
	// invalid-key rejection; it is never guessed from the status alone.
	// See CauseOf.
	Cause KeyCause
	// Method and URL identify the request. URL carries no query string and
	// no user information.
	Method string
	URL    string

	// InvalidKey reports that the response is the invalid-key rejection
	// (as judged by the transport's rejection matcher). Only then does the
	// error match ErrInvalidAPIKey.
	InvalidKey bool
	// Replayed reports that the key was refreshed, the request replayed
	// once with the new key, and this is the second rejection.
	Replayed bool
	// NotReplayed, when not empty, says why the request was not replayed
	// after the key was refreshed (for example, a body that cannot be re-read).
	NotReplayed string
	// RefreshFailed reports that refreshing the key failed; Err holds why.
	// The error then also matches ErrRefreshFailed and Err. That includes a
	// request sent with a key that the API had already rejected right after
	// its refresh: within the cooldown, the key is not refreshed again, and
	// Err matches credentials.ErrRefreshedKeyRejected.
	RefreshFailed bool
	// Err is the underlying cause, if any: the refresh hook's error, or the
	// caller's context error when it gave up waiting for a refresh. With a
	// key pool (credentials.Pool), it is a *PoolError saying what became
	// of each member the request was sent with.
	Err error
}

// Error describes the rejection for a person. It never contains the API key:
// the transport removes the key from any text it copies from the response.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("rekey: ")
	switch {
	case e.InvalidKey:
		b.WriteString("invalid API key")
	case e.StatusCode == http.StatusTooManyRequests:
		b.WriteString("rate limited")
	case e.StatusCode >= 500:
		b.WriteString("server error")
	default:
		b.WriteString("request failed")
	}
	if e.Method != "" && e.URL != "" {
		b.WriteString(" for ")
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.URL)
	}
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" && !(e.InvalidKey && strings.EqualFold(e.Code, "Invalid API Key")) {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	b.WriteString(")")
	msg := strings.TrimRight(e.Message, ". ")
	if msg == "" && e.StatusCode >= 400 {
		msg = http.StatusText(e.StatusCode)
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.InvalidKey && e.Cause != CauseUnknown {
		b.WriteString(" (key ")
		b.WriteString(e.Cause.String())
		b.WriteString(")")
	}
	pool, _ := e.Err.(*PoolError)
	switch {
	case pool != nil:
		switch {
		case e.Replayed:
			b.WriteString("; refreshed once, still rejected; the pool's keys: ")
		case e.NotReplayed != "":
			b.WriteString("; request not replayed: ")
			b.WriteString(e.NotReplayed)
			b.WriteString("; the pool's keys: ")
		default:
			b.WriteString("; no key of the pool could serve it: ")
		}
		pool.describe(&b)
	case e.Replayed:
		b.WriteString("; refreshed once, still rejected")
	case e.RefreshFailed && errors.Is(e.Err, credentials.ErrRefreshedKeyRejected):
		// A request sent again with a key already rejected on a replay.
		b.WriteString("; refreshed once, the new key was rejected too (no new refresh until the cooldown ends)")
	case e.RefreshFailed && e.Err != nil:
		b.WriteString("; refreshing the key failed: ")
		b.WriteString(e.Err.Error())
	case e.Err != nil:
		b.WriteString("; gave up waiting for a new key: ")
		b.WriteString(e.Err.Error())
	case e.NotReplayed != "":
		b.WriteString("; key refreshed but request not replayed: ")
		b.WriteString(e.NotReplayed)
	}
	if e.RequestID != "" {
		b.WriteString(" (request ID ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Is makes errors.Is match the sentinel for the error's class:
// ErrInvalidAPIKey for the invalid-key rejection, ErrRefreshFailed when
// refreshing failed, ErrRateLimited for 429 and ErrServer for 5xx.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrInvalidAPIKey:
		return e.InvalidKey
	case ErrRefreshFailed:
		return e.RefreshFailed
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	}
	return false
}

// Unwrap returns the underlying cause (the refresh hook's error, or a
// context error), or nil.
func (e *APIError) Unwrap() error { return e.Err }
