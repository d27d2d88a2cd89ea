// Package apierr defines rekey's error values once, so that the root package
// (which re-exports them) and package transport (which returns them) share a
// single identity for errors.Is and errors.As without an import cycle.
//
// Application code should use the re-exported names in package rekey.
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
	// Code is the API's error code: the JSON "error" field (or "code",
	// "type", Google's ErrorInfo reason, ...), e.g. "Invalid API Key" or
	// "API_KEY_INVALID". See Decode for the shapes understood.
	Code string
	// Message is the API's message: the JSON "message" field (or "detail",
	// "error_description", "reason", the first of "errors", or a short
	// plain-text body).
	Message string
	// RequestID is the server's request identifier, from a vendor header
	// (X-Request-Id, Request-Id, X-GitHub-Request-Id, ...) or a body field
	// (request_id, correlationId), when present: quote it to the API's
	// support.
	RequestID string
	// Cause says why the key was rejected, when the API says so (Google's
	// API_KEY_EXPIRED against API_KEY_INVALID, Slack's token_expired against
	// token_revoked, a message that says "expired"). It is CauseUnknown when
	// the API does not say, and for every error that is not the invalid-key
	// rejection; it is never guessed from the status alone.
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
