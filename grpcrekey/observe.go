package grpcrekey

import (
	"context"
	"log/slog"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/transport"
)

// observer delivers the recovery path's events to the hooks and the
// logger, as transport.Event values, so that whatever listens to a
// rekey.Client (otelrekey among others) listens to gRPC calls too.
type observer struct {
	hooks rekey.Hooks
	log   *slog.Logger
}

// event reports a step of the recovery of call c, whose rejection is r.
func (o *observer) event(kind transport.EventKind, c *call, r *Error) {
	var hook func(transport.Event)
	level, msg := slog.LevelWarn, ""
	switch kind {
	case transport.EventKeyRejected:
		hook, msg = o.hooks.KeyRejected, "rekey: API key rejected; refreshing it"
	case transport.EventReplayed:
		hook, level, msg = o.hooks.RequestReplayed, slog.LevelInfo, "rekey: gRPC call replayed with a refreshed key"
	case transport.EventNotReplayed:
		hook, msg = o.hooks.RequestNotReplayed, "rekey: key refreshed, gRPC call not replayed"
	case transport.EventReplayRejected:
		hook, level, msg = o.hooks.ReplayRejected, slog.LevelError, "rekey: refreshed API key rejected too"
	default:
		return
	}
	if hook == nil && o.log == nil {
		return
	}
	e, code := r.APIError, r.status.Code()
	ev := transport.Event{
		Kind:       kind,
		Method:     e.Method,
		URL:        e.URL,
		StatusCode: e.StatusCode,
		RequestID:  e.RequestID,
		Reason:     e.NotReplayed,
		Cause:      e.Cause,
		Context:    c.ctx,
	}
	if hook != nil {
		hook(ev)
	}
	if o.log != nil {
		attrs := []slog.Attr{
			slog.String("method", e.Method),
			slog.String("url", e.URL),
			slog.String("code", code.String()),
		}
		if e.Code != "" && e.Code != codeName(code) {
			attrs = append(attrs, slog.String("reason", e.Code))
		}
		if e.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", e.RequestID))
		}
		if e.Cause != apierr.CauseUnknown {
			attrs = append(attrs, slog.String("cause", e.Cause.String()))
		}
		if e.NotReplayed != "" {
			attrs = append(attrs, slog.String("not_replayed", e.NotReplayed))
		}
		o.log.LogAttrs(c.ctx, level, msg, attrs...)
	}
}

// onRefresh returns the Cache's OnRefresh, or nil if nobody listens.
func (o *observer) onRefresh() func(credentials.RefreshEvent) {
	h := o.hooks
	if o.log == nil && h.RefreshStarted == nil && h.RefreshSucceeded == nil && h.RefreshFailed == nil {
		return nil
	}
	return o.refresh
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
	if o.log == nil {
		return
	}
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
	ctx := ev.Context
	if ctx == nil {
		ctx = context.Background()
	}
	o.log.LogAttrs(ctx, level, msg, attrs...)
}
