package grpcrekey

import (
	"log/slog"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/internal/keyevents"
	"github.com/rekeyhq/rekey/transport"
)

// observer delivers the recovery path's events to the hooks and the
// logger, as transport.Event values, so that whatever listens to a
// rekey.Client (otelrekey among others) listens to gRPC calls too.
type observer struct {
	hooks  rekey.Hooks
	log    *slog.Logger
	pooled bool               // the keys come from a credentials.Pool: events name the member
	keys   keyevents.Listener // the key source's events: refreshes, pool members (as a rekey.Client's)
}

func newObserver(h rekey.Hooks, log *slog.Logger) observer {
	return observer{hooks: h, log: log, keys: keyevents.Listener{
		Log:               log,
		RefreshStarted:    h.RefreshStarted,
		RefreshSucceeded:  h.RefreshSucceeded,
		RefreshFailed:     h.RefreshFailed,
		MemberQuarantined: h.MemberQuarantined,
		MemberRestored:    h.MemberRestored,
	}}
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
