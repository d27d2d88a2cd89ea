package rekey

import (
	"context"
	"log/slog"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Hooks are optional callbacks for what a [Client] does on its own: key
// rejections, refreshes, replays and transient retries. Use them for
// metrics; [WithLogger] logs the same events. Every field may be nil. The
// callbacks run on the goroutine making the request (or refreshing the key
// in the background); they must be fast, must not block and must not call
// back into the Client. No event carries a key or a URL query string.
type Hooks struct {
	// KeyRejected: the API rejected the key; a refresh follows. Event.Cause
	// says why, when the API said so.
	KeyRejected func(transport.Event)
	// RequestReplayed: the key was refreshed and the request is sent again.
	RequestReplayed func(transport.Event)
	// RequestNotReplayed: the key was refreshed, but the request could not
	// be sent again (Event.Reason says why); the caller gets the rejection.
	RequestNotReplayed func(transport.Event)
	// ReplayRejected: the replay with the new key was rejected too; the
	// caller gets the rejection (as the API's response, through
	// HTTPClient with [WithReturnResponse]). Until its cooldown has passed
	// ([WithRejectedKeyCooldown], 10s by default), requests sent with that
	// key fail at once, without another refresh.
	ReplayRejected func(transport.Event)

	// RefreshStarted: a refresh of the key began (RefreshEvent.Reason says
	// why: first key, rejected, expiring, expired, changed in its source).
	RefreshStarted func(credentials.RefreshEvent)
	// RefreshSucceeded: a new key is in use; Duration and Attempts say what
	// it took.
	RefreshSucceeded func(credentials.RefreshEvent)
	// RefreshFailed: obtaining a new key failed; Err says why.
	RefreshFailed func(credentials.RefreshEvent)

	// RetryScheduled: a transient failure will be retried after
	// RetryEvent.Wait.
	RetryScheduled func(transport.RetryEvent)
}

// observer delivers events to the hooks and the logger.
type observer struct {
	hooks Hooks
	log   *slog.Logger
}

// onEvent returns the transport.Transport's OnEvent, or nil if nobody
// listens (so the hot path pays nothing).
func (o *observer) onEvent() func(transport.Event) {
	h := o.hooks
	if o.log == nil && h.KeyRejected == nil && h.RequestReplayed == nil && h.RequestNotReplayed == nil && h.ReplayRejected == nil {
		return nil
	}
	return o.event
}

func (o *observer) onRefresh() func(credentials.RefreshEvent) {
	h := o.hooks
	if o.log == nil && h.RefreshStarted == nil && h.RefreshSucceeded == nil && h.RefreshFailed == nil {
		return nil
	}
	return o.refresh
}

func (o *observer) onRetry() func(transport.RetryEvent) {
	if o.log == nil && o.hooks.RetryScheduled == nil {
		return nil
	}
	return o.retry
}

func (o *observer) event(ev transport.Event) {
	var hook func(transport.Event)
	level, msg := slog.LevelWarn, ""
	switch ev.Kind {
	case transport.EventKeyRejected:
		hook, msg = o.hooks.KeyRejected, "rekey: API key rejected; refreshing it"
	case transport.EventReplayed:
		hook, level, msg = o.hooks.RequestReplayed, slog.LevelInfo, "rekey: request replayed with a refreshed key"
	case transport.EventNotReplayed:
		hook, msg = o.hooks.RequestNotReplayed, "rekey: key refreshed, request not replayed"
	case transport.EventReplayRejected:
		hook, level, msg = o.hooks.ReplayRejected, slog.LevelError, "rekey: refreshed API key rejected too"
	default:
		return
	}
	if hook != nil {
		hook(ev)
	}
	if o.log != nil {
		attrs := []slog.Attr{
			slog.String("method", ev.Method),
			slog.String("url", ev.URL),
			slog.Int("status", ev.StatusCode),
		}
		if ev.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", ev.RequestID))
		}
		if ev.Cause != CauseUnknown {
			attrs = append(attrs, slog.String("cause", ev.Cause.String()))
		}
		if ev.Reason != "" {
			attrs = append(attrs, slog.String("reason", ev.Reason))
		}
		o.log.LogAttrs(orBackground(ev.Context), level, msg, attrs...)
	}
}

func (o *observer) refresh(ev credentials.RefreshEvent) {
	var hook func(credentials.RefreshEvent)
	var level slog.Level
	var msg string
	switch ev.Phase {
	case credentials.RefreshStarted:
		hook, level, msg = o.hooks.RefreshStarted, slog.LevelDebug, "rekey: refreshing API key"
	case credentials.RefreshSucceeded:
		hook, level, msg = o.hooks.RefreshSucceeded, slog.LevelInfo, "rekey: API key refreshed"
	case credentials.RefreshFailed:
		hook, level, msg = o.hooks.RefreshFailed, slog.LevelError, "rekey: refreshing API key failed"
	default:
		return
	}
	if hook != nil {
		hook(ev)
	}
	if o.log != nil {
		attrs := []slog.Attr{slog.String("reason", ev.Reason.String())}
		if ev.Phase != credentials.RefreshStarted {
			attrs = append(attrs, slog.Duration("duration", ev.Duration), slog.Int("attempts", ev.Attempts))
		}
		if !ev.Expiry.IsZero() {
			attrs = append(attrs, slog.Time("expiry", ev.Expiry))
		}
		if ev.Err != nil {
			attrs = append(attrs, slog.String("error", ev.Err.Error()))
		}
		o.log.LogAttrs(orBackground(ev.Context), level, msg, attrs...)
	}
}

func (o *observer) retry(ev transport.RetryEvent) {
	if o.hooks.RetryScheduled != nil {
		o.hooks.RetryScheduled(ev)
	}
	if o.log != nil {
		attrs := []slog.Attr{
			slog.String("method", ev.Method),
			slog.String("url", ev.URL),
			slog.Int("attempt", ev.Attempt),
			slog.Duration("wait", ev.Wait),
		}
		if ev.StatusCode != 0 {
			attrs = append(attrs, slog.Int("status", ev.StatusCode))
		}
		if ev.Err != nil {
			attrs = append(attrs, slog.String("error", ev.Err.Error()))
		}
		o.log.LogAttrs(orBackground(ev.Context), slog.LevelInfo, "rekey: retrying request", attrs...)
	}
}

// orBackground returns ctx, or context.Background if ctx is nil (an event
// built by hand), for the logger: a handler that correlates records with
// traces finds the request's span in an event's Context.
func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
