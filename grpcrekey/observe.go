package grpcrekey

import (
	"context"
	"log/slog"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/transport"
)

// observer delivers the recovery path's events to the hooks and the
// logger, as transport.Event values, so that whatever listens to a
// rekey.Client (otelrekey among others) listens to gRPC calls too.
type observer struct {
	hooks  rekey.Hooks
	log    *slog.Logger
	pooled bool // the keys come from a credentials.Pool: events name the member
}

// event reports a step of the recovery of call cl, whose refusal is r, about
// the member m: the member refused for EventKeyRejected and
// EventNotReplayed, the member the call is sent with now for EventFailover
// and EventReplayed, the member whose new key was refused for
// EventReplayRejected (as transport.Event documents).
func (o *observer) event(kind transport.EventKind, cl *call, r *Error, m credentials.Member) {
	var hook func(transport.Event)
	level, msg := slog.LevelWarn, ""
	switch kind {
	case transport.EventKeyRejected:
		hook, msg = o.hooks.KeyRejected, "rekey: API key rejected; refreshing it"
		if o.pooled {
			msg = "rekey: API key rejected; failing over, refreshing it in the background"
		}
	case transport.EventReplayed:
		hook, level, msg = o.hooks.RequestReplayed, slog.LevelInfo, "rekey: gRPC call replayed with a refreshed key"
	case transport.EventNotReplayed:
		hook, msg = o.hooks.RequestNotReplayed, "rekey: key refreshed, gRPC call not replayed"
	case transport.EventReplayRejected:
		hook, level, msg = o.hooks.ReplayRejected, slog.LevelError, "rekey: refreshed API key rejected too"
	case transport.EventFailover:
		hook, level, msg = o.hooks.Failover, slog.LevelInfo, "rekey: gRPC call replayed with another key of the pool"
	default:
		return
	}
	if hook == nil && o.log == nil {
		return
	}
	ev := o.newEvent(kind, cl, r, m)
	if hook != nil {
		hook(ev)
	}
	o.logEvent(level, msg, ev, r)
}

// cooldown reports that member m cools down for d after the FailoverOn
// status r.
func (o *observer) cooldown(cl *call, r *Error, m credentials.Member, d time.Duration) {
	if o.hooks.MemberCooldown == nil && o.log == nil {
		return
	}
	ev := o.newEvent(transport.EventMemberCooldown, cl, r, m)
	ev.Cooldown = d
	if o.hooks.MemberCooldown != nil {
		o.hooks.MemberCooldown(ev)
	}
	o.logEvent(slog.LevelWarn, "rekey: pool key cooling down after a failover status", ev, r)
}

// newEvent builds the transport.Event of a step of the recovery of cl.
func (o *observer) newEvent(kind transport.EventKind, cl *call, r *Error, m credentials.Member) transport.Event {
	e := r.APIError
	ev := transport.Event{
		Kind:       kind,
		Method:     e.Method,
		URL:        e.URL,
		StatusCode: e.StatusCode,
		RequestID:  e.RequestID,
		Reason:     e.NotReplayed,
		Cause:      e.Cause,
		Context:    cl.ctx,
	}
	if o.pooled {
		ev.Pooled, ev.Member, ev.MemberKey = true, m.Index, credentials.Redact(m.Credential.Key)
	}
	return ev
}

// logEvent logs ev, the event of the refusal r, if there is a logger.
func (o *observer) logEvent(level slog.Level, msg string, ev transport.Event, r *Error) {
	if o.log == nil {
		return
	}
	e, code := r.APIError, r.status.Code()
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
	if ev.Pooled {
		attrs = append(attrs, slog.Int("member", ev.Member), slog.String("member_key", ev.MemberKey))
	}
	if ev.Cooldown > 0 {
		attrs = append(attrs, slog.Duration("cooldown", ev.Cooldown))
	}
	o.log.LogAttrs(ev.Context, level, msg, attrs...)
}

// onPoolEvent returns what to register with a credentials.Pool (its
// members' quarantines, restorations and refreshes), or nil if nobody
// listens.
func (o *observer) onPoolEvent() func(credentials.PoolEvent) {
	h := o.hooks
	if o.log == nil && h.MemberQuarantined == nil && h.MemberRestored == nil && o.onRefresh() == nil {
		return nil
	}
	return o.poolEvent
}

// poolEvent delivers a credentials.Pool's event to the logger, then to the
// hooks (so that whoever a hook tells finds the record written), as a
// rekey.Client does.
func (o *observer) poolEvent(ev credentials.PoolEvent) {
	member := []slog.Attr{slog.Int("member", ev.Member)}
	if ev.Key != "" {
		member = append(member, slog.String("member_key", ev.Key))
	}
	switch ev.Kind {
	case credentials.MemberRefresh:
		o.refreshOf(ev.Refresh, member...)
	case credentials.MemberQuarantined:
		if o.log != nil {
			attrs := append(member, slog.Time("until", ev.Until))
			if ev.Err != nil {
				attrs = append(attrs, slog.String("error", ev.Err.Error()))
			}
			o.log.LogAttrs(ev.Context, slog.LevelError, "rekey: pool key quarantined: its refresh produced no new key", attrs...)
		}
		if o.hooks.MemberQuarantined != nil {
			o.hooks.MemberQuarantined(ev)
		}
	case credentials.MemberRestored:
		if o.log != nil {
			o.log.LogAttrs(ev.Context, slog.LevelInfo, "rekey: pool key restored", member...)
		}
		if o.hooks.MemberRestored != nil {
			o.hooks.MemberRestored(ev)
		}
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

func (o *observer) refresh(ev credentials.RefreshEvent) { o.refreshOf(ev) }

// refreshOf delivers a refresh event, with more attributes for the log (a
// pool member's).
func (o *observer) refreshOf(ev credentials.RefreshEvent, more ...slog.Attr) {
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
	attrs = append(attrs, more...)
	ctx := ev.Context
	if ctx == nil {
		ctx = context.Background()
	}
	o.log.LogAttrs(ctx, level, msg, attrs...)
}
