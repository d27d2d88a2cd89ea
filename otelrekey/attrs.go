package otelrekey

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"syscall"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Attribute keys of rekey's own, beside the semantic conventions'
// server.address, server.port, http.response.status_code and error.type.
const (
	// RefreshReasonKey: why the key was refreshed, "initial", "rejected",
	// "expiring", "expired", or "changed" (a credentials.Poller found a new
	// key in its source) (credentials.RefreshReason.String).
	RefreshReasonKey = attribute.Key("rekey.refresh.reason")
	// RefreshOutcomeKey: "success" or "failure".
	RefreshOutcomeKey = attribute.Key("rekey.refresh.outcome")
	// RefreshAttemptsKey: calls made to the key source (refresh spans).
	RefreshAttemptsKey = attribute.Key("rekey.refresh.attempts")
	// ReplayOutcomeKey: "replayed", "not_replayed" or "rejected_again".
	ReplayOutcomeKey = attribute.Key("rekey.replay.outcome")
	// ReplayReasonKey: why a request was not replayed (span events).
	ReplayReasonKey = attribute.Key("rekey.replay.reason")
	// RequestIDKey: the API's request ID of a rejection (span events).
	RequestIDKey = attribute.Key("rekey.api.request_id")
	// RetryAttemptKey: the attempt that failed, 1 for the first (span events).
	RetryAttemptKey = attribute.Key("rekey.retry.attempt")
	// RetryWaitKey: seconds waited before the next attempt (span events).
	RetryWaitKey = attribute.Key("rekey.retry.wait")
	// KeyCauseKey: why the API rejected the key, as far as it says:
	// "invalid", "expired", "revoked" or "unknown" (rekey.KeyCause.String).
	// On rejections and their span events: a revoked key may mean a leak
	// worth an alert, an expired one is routine.
	KeyCauseKey = attribute.Key("rekey.key.cause")
	// PoolMemberKey: with a credentials.Pool, the member an event is about,
	// by index from 0: the one whose key was rejected or refused, the one
	// a request fails over to, or the one quarantined or restored.
	PoolMemberKey = attribute.Key("rekey.pool.member")
	// PoolMemberRedactedKey: that member's key, redacted
	// (credentials.Redact, such as "sk_live_…9f2c"); on span events only,
	// since a metric attribute that changes with every rotated key would
	// multiply the series.
	PoolMemberRedactedKey = attribute.Key("rekey.pool.member.redacted_key")
	// PoolTransitionKey: what happened to a pool member: "quarantined" (its
	// refresh produced no new key), "restored" (back in rotation) or
	// "cooling_down" (after a PoolOptions.FailoverOn status).
	PoolTransitionKey = attribute.Key("rekey.pool.member.transition")
	// PoolCooldownKey: seconds a member cools down (span events).
	PoolCooldownKey = attribute.Key("rekey.pool.member.cooldown")
)

var (
	outcomeSuccess       = RefreshOutcomeKey.String("success")
	outcomeFailure       = RefreshOutcomeKey.String("failure")
	outcomeReplayed      = ReplayOutcomeKey.String("replayed")
	outcomeNotReplayed   = ReplayOutcomeKey.String("not_replayed")
	outcomeRejectedAgain = ReplayOutcomeKey.String("rejected_again")
	transitionQuarantine = PoolTransitionKey.String("quarantined")
	transitionRestore    = PoolTransitionKey.String("restored")
	transitionCooldown   = PoolTransitionKey.String("cooling_down")
)

// memberAttrs returns rekey.pool.member for an event of a pooled
// transport, and nothing otherwise.
func memberAttrs(ev transport.Event) []attribute.KeyValue {
	if !ev.Pooled {
		return nil
	}
	return []attribute.KeyValue{PoolMemberKey.Int(ev.Member)}
}

// serverAttrs returns server.address and, when the URL names one,
// server.port, for an event's URL (scheme, host and path).
func serverAttrs(rawURL string) []attribute.KeyValue {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(u.Hostname())}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	return attrs
}

// statusAttr returns http.response.status_code.
func statusAttr(code int) attribute.KeyValue { return semconv.HTTPResponseStatusCode(code) }

// refreshAttrs returns the attributes of a finished refresh.
func refreshAttrs(ev credentials.RefreshEvent) []attribute.KeyValue {
	attrs := []attribute.KeyValue{RefreshReasonKey.String(ev.Reason.String()), outcomeSuccess}
	if ev.Phase == credentials.RefreshFailed {
		attrs[1] = outcomeFailure
		attrs = append(attrs, semconv.ErrorTypeKey.String(refreshErrorType(ev.Err)))
	}
	return attrs
}

// refreshErrorType classifies a refresh failure into a few stable values,
// for error.type.
func refreshErrorType(err error) string {
	switch {
	case errors.Is(err, credentials.ErrCacheClosed):
		return "cache_closed"
	case errors.Is(err, credentials.ErrSameKey):
		return "same_key"
	case errors.Is(err, credentials.ErrMalformedKey):
		return "malformed_key"
	case errors.Is(err, credentials.ErrNoCredentials):
		return "no_credentials"
	}
	return netErrorType(err)
}

// netErrorType classifies a failure to get an answer, for error.type.
func netErrorType(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection_reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// retryCause returns what made a request be retried: its status (and
// error.type, the status as a string, as the HTTP conventions say), or the
// kind of connection error.
func retryCause(ev transport.RetryEvent) []attribute.KeyValue {
	if ev.StatusCode != 0 {
		return []attribute.KeyValue{statusAttr(ev.StatusCode), semconv.ErrorTypeKey.String(strconv.Itoa(ev.StatusCode))}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(netErrorType(ev.Err))}
}
