package otelrekey

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Span and span event names.
const (
	SpanRefresh             = "rekey.key.refresh"
	EventKeyRejected        = "rekey.key.rejected"
	EventRequestReplayed    = "rekey.request.replayed"
	EventRequestNotReplayed = "rekey.request.not_replayed"
	EventReplayRejected     = "rekey.replay.rejected"
	EventRequestRetry       = "rekey.request.retry"
	EventFailover           = "rekey.pool.failover"
	EventMemberCooldown     = "rekey.pool.member.cooldown"
	EventMemberQuarantined  = "rekey.pool.member.quarantined"
	EventMemberRestored     = "rekey.pool.member.restored"
)

// startRefreshSpan starts the span of a refresh, as a child of the span in
// the context of the request that started it, and keeps it by the
// refresh's ID until its end event.
func (t *Telemetry) startRefreshSpan(ev credentials.RefreshEvent) {
	if ev.ID == 0 {
		return // cannot be paired: endRefreshSpan makes the span whole
	}
	_, span := t.tracer.Start(orBackground(ev.Context), SpanRefresh,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(RefreshReasonKey.String(ev.Reason.String())),
		trace.WithAttributes(t.attrs...))
	t.spans.Store(ev.ID, span) // recording or not, so that the end pairs with it

}

// endRefreshSpan ends the span of the refresh that ev finishes. For an end
// event without a known start (no ID, or a start this Telemetry did not
// see), it records the whole span now, backdated by ev.Duration.
func (t *Telemetry) endRefreshSpan(ev credentials.RefreshEvent) {
	var span trace.Span
	if v, ok := t.spans.LoadAndDelete(ev.ID); ok && ev.ID != 0 {
		span = v.(trace.Span)
	} else {
		_, span = t.tracer.Start(orBackground(ev.Context), SpanRefresh,
			trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithTimestamp(time.Now().Add(-ev.Duration)),
			trace.WithAttributes(RefreshReasonKey.String(ev.Reason.String())),
			trace.WithAttributes(t.attrs...))
	}
	span.SetAttributes(RefreshAttemptsKey.Int(ev.Attempts))
	if ev.Phase == credentials.RefreshFailed {
		span.SetAttributes(semconv.ErrorTypeKey.String(refreshErrorType(ev.Err)))
		if ev.Err != nil {
			span.RecordError(ev.Err)
			span.SetStatus(codes.Error, ev.Err.Error())
		} else {
			span.SetStatus(codes.Error, "refresh failed")
		}
	}
	span.End()
}

// addRequestEvent puts a recovery step on the span of the request it
// concerns, if that span is recording.
func addRequestEvent(ctx context.Context, ev transport.Event) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	switch ev.Kind {
	case transport.EventKeyRejected:
		span.AddEvent(EventKeyRejected, trace.WithAttributes(rejectionAttrs(ev)...))
	case transport.EventReplayed:
		span.AddEvent(EventRequestReplayed)
	case transport.EventNotReplayed:
		span.AddEvent(EventRequestNotReplayed, trace.WithAttributes(ReplayReasonKey.String(ev.Reason)))
	case transport.EventReplayRejected:
		span.AddEvent(EventReplayRejected, trace.WithAttributes(rejectionAttrs(ev)...))
	case transport.EventFailover:
		span.AddEvent(EventFailover, trace.WithAttributes(append(poolMemberAttrs(ev.Member, ev.MemberKey), statusAttr(ev.StatusCode))...))
	case transport.EventMemberCooldown:
		span.AddEvent(EventMemberCooldown, trace.WithAttributes(append(poolMemberAttrs(ev.Member, ev.MemberKey),
			statusAttr(ev.StatusCode), PoolCooldownKey.Float64(ev.Cooldown.Seconds()))...))
	}
}

func rejectionAttrs(ev transport.Event) []attribute.KeyValue {
	attrs := []attribute.KeyValue{statusAttr(ev.StatusCode), KeyCauseKey.String(ev.Cause.String())}
	if ev.RequestID != "" {
		attrs = append(attrs, RequestIDKey.String(ev.RequestID))
	}
	if ev.Pooled {
		attrs = append(attrs, poolMemberAttrs(ev.Member, ev.MemberKey)...)
	}
	return attrs
}

// poolMemberAttrs names a pool member on a span event: index and redacted
// key.
func poolMemberAttrs(member int, redactedKey string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{PoolMemberKey.Int(member)}
	if redactedKey != "" {
		attrs = append(attrs, PoolMemberRedactedKey.String(redactedKey))
	}
	return attrs
}

// addPoolEvent puts a pool member's quarantine or restoration on the span
// of the request whose rejection led to it, if that span is still
// recording.
func addPoolEvent(ctx context.Context, ev credentials.PoolEvent) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	name := EventMemberRestored
	if ev.Kind == credentials.MemberQuarantined {
		name = EventMemberQuarantined
	}
	span.AddEvent(name, trace.WithAttributes(poolMemberAttrs(ev.Member, ev.Key)...))
}

// addRetryEvent puts a retry on the span of the request retried.
func addRetryEvent(ctx context.Context, ev transport.RetryEvent) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := append([]attribute.KeyValue{
		RetryAttemptKey.Int(ev.Attempt),
		RetryWaitKey.Float64(ev.Wait.Seconds()),
	}, retryCause(ev)...)
	span.AddEvent(EventRequestRetry, trace.WithAttributes(attrs...))
}
