package rekey

import (
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// ErrInvalidAPIKey is matched (with errors.Is) by every error that means the
// API rejected the key as invalid, expired or revoked, after rekey did what
// it could: refreshed the key and replayed the request once, or tried to
// refresh and failed. It holds for errors from [Client] and from an
// http.Client whose Transport is a *transport.Transport.
var ErrInvalidAPIKey = apierr.ErrInvalidAPIKey

// ErrRefreshFailed is matched, together with [ErrInvalidAPIKey] and the
// refresh hook's own error, when the API rejected the key and obtaining a new
// one failed (the refresh hook or provider returned an error on every
// attempt). Fix the key's source; retrying the request will not help until
// then.
var ErrRefreshFailed = apierr.ErrRefreshFailed

// ErrInsecureRequest is matched when rekey refused to send a key over plain
// http to a host that is not loopback. Nothing was sent. Use https, or allow
// plain http explicitly for a trusted network.
var ErrInsecureRequest = apierr.ErrInsecureRequest

// ErrNoCredentials is matched when no API key is available at all: an unset
// environment variable, a missing file, a chain in which no provider had one.
// It is the same value as credentials.ErrNoCredentials.
var ErrNoCredentials = credentials.ErrNoCredentials

// ErrMalformedKey is matched when a key fails local validation (empty,
// whitespace or quotes around it, a pasted "Bearer " prefix, ...). Nothing
// was sent. It is the same value as credentials.ErrMalformedKey.
var ErrMalformedKey = credentials.ErrMalformedKey

// ErrRateLimited is matched by an *APIError for a 429 Too Many Requests
// response that remained after transient retries.
var ErrRateLimited = apierr.ErrRateLimited

// ErrServer is matched by an *APIError for a 5xx response that remained
// after transient retries.
var ErrServer = apierr.ErrServer

// ErrConnection is matched by a *[ConnectionError]: a request whose
// connection failed before its whole response arrived (reset, closed early,
// a network error) and that rekey did not, or could no longer, retry. The
// API may or may not have received the request: a GET can simply be sent
// again; a POST without an Idempotency-Key may have been performed (see
// [ConnectionError]).
var ErrConnection = apierr.ErrConnection

// ConnectionError is returned when a request's connection failed before its
// whole response arrived and rekey hands the failure to the caller: when
// the request is not retried (a POST without an Idempotency-Key, a body
// that cannot be re-read, [WithoutRetries]; NotRetried says which), inside
// a [RetryError] when retries ran out, and from [Client.Do] when a
// response's body is cut off (StatusCode is then its status: the API
// received the request). Its message says what happened in words rather
// than net/http's bare "EOF". It matches [ErrConnection], and errors.Is and
// errors.As see through it to the network layer's error (io.EOF,
// syscall.ECONNRESET, a *net.OpError). It is the same type as
// transport.ConnectionError.
type ConnectionError = apierr.ConnectionError

// KeyCause says why an API rejected a key, when the API says so: the
// runbook this library automates names three causes, and each calls for a
// different next step. A revoked key may mean a leak worth an alert; an
// expired one is routine; an invalid one is usually a bad copy or the wrong
// account. [APIError.Cause], hook events and log lines carry it.
type KeyCause = apierr.KeyCause

// The values of [KeyCause].
const (
	// CauseUnknown: the API did not say why, or said it ambiguously
	// ("invalid, expired, or revoked"). Never guessed from the status.
	CauseUnknown = apierr.CauseUnknown
	// CauseInvalid: the API does not recognise the key (Google's
	// API_KEY_INVALID, OpenAI's invalid_api_key, "Invalid API key"):
	// mistyped, truncated, from another account or environment.
	CauseInvalid = apierr.CauseInvalid
	// CauseExpired: the key has expired (Google's API_KEY_EXPIRED, Slack's
	// token_expired, "Token is expired").
	CauseExpired = apierr.CauseExpired
	// CauseRevoked: the key was revoked, disabled or deleted, or its owner
	// deactivated (Slack's token_revoked and account_inactive).
	CauseRevoked = apierr.CauseRevoked
)

// APIError is an error response from the API, with the facts a caller
// branches on and quotes: the status, the API's error code and message, and
// its request ID, and, for a rejected key, the cause when the API names it.
//
// For the invalid-key rejection (InvalidKey true) it matches
// [ErrInvalidAPIKey]; Replayed, NotReplayed and RefreshFailed say what rekey
// did about it, and Unwrap returns the refresh failure, if any. [Client.Do]
// also returns an APIError for every other non-2xx response; those match
// [ErrRateLimited] (429) or [ErrServer] (5xx) as appropriate.
//
// Error never contains the key: rekey removes it from any text it copies
// from the response, and URLs are printed without their query string.
type APIError = apierr.APIError

// PoolError is the cause (APIError.Err) of an invalid-key rejection that a
// credentials.Pool could not get past: the request was sent with the
// members it lists first, in order, and none served it; every other member
// follows (StatusCode 0: it was out already). For each, Members says its
// index, redacted key, the API's status and cause, and why it has no new
// key (its refresh produced none: a *credentials.QuarantineError; or it
// cools down). errors.Is and errors.As see through it to each member's
// error, such as credentials.ErrSameKey. It never contains a key.
type PoolError = apierr.PoolError

// MemberError is one member's line in a [PoolError].
type MemberError = apierr.MemberError
