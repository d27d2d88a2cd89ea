// Package keyevents delivers the events of where keys come from, a
// credentials.Cache's refreshes and a credentials.Pool's members (their
// quarantines, restorations and refreshes), to the hooks and the logger of
// a rekey.Client, and in the same way to those of grpcrekey's Credentials:
// the same records, in the same order, for HTTP and gRPC. The events of a
// request's recovery differ between the protocols (a status against a
// gRPC code) and stay with each.
//
// grpcrekey, a module of its own, imports this package from the core
// module. Every module is released at one version (RELEASING.md), but a
// program may build an older grpcrekey against a newer core: change this
// package's API by adding to it, never by changing or removing a name.
package keyevents

import (
	"context"
	"log/slog"

	"github.com/rekeyhq/rekey/credentials"
)

// Listener is who hears the events: the hooks of rekey.Hooks that concern
// keys, and a logger. Any of them may be nil. Each event is logged first,
// then handed to its hook, so that a hook that tells someone the event
// happened finds the record written.
type Listener struct {
	Log *slog.Logger

	RefreshStarted   func(credentials.RefreshEvent)
	RefreshSucceeded func(credentials.RefreshEvent)
	RefreshFailed    func(credentials.RefreshEvent)

	MemberQuarantined func(credentials.PoolEvent)
	MemberRestored    func(credentials.PoolEvent)
}

// OnRefresh returns what to set as a credentials.Cache's OnRefresh, or nil
// if nobody listens.
func (l *Listener) OnRefresh() func(credentials.RefreshEvent) {
	if l.Log == nil && l.RefreshStarted == nil && l.RefreshSucceeded == nil && l.RefreshFailed == nil {
		return nil
	}
	return l.Refresh
}

// OnPoolEvent returns what to register with a credentials.Pool (its
// members' quarantines, restorations and refreshes), or nil if nobody
// listens.
func (l *Listener) OnPoolEvent() func(credentials.PoolEvent) {
	if l.MemberQuarantined == nil && l.MemberRestored == nil && l.OnRefresh() == nil {
		return nil
	}
	return l.PoolEvent
}

// PoolEvent delivers a credentials.Pool's event.
func (l *Listener) PoolEvent(ev credentials.PoolEvent) {
	member := []slog.Attr{slog.Int("member", ev.Member)}
	if ev.Key != "" {
		member = append(member, slog.String("member_key", ev.Key))
	}
	switch ev.Kind {
	case credentials.MemberRefresh:
		l.refresh(ev.Refresh, member...)
	case credentials.MemberQuarantined:
		if l.Log != nil {
			attrs := append(member, slog.Time("until", ev.Until))
			if ev.Err != nil {
				attrs = append(attrs, slog.String("error", ev.Err.Error()))
			}
			l.Log.LogAttrs(orBackground(ev.Context), slog.LevelError, "rekey: pool key quarantined: its refresh produced no new key", attrs...)
		}
		if l.MemberQuarantined != nil {
			l.MemberQuarantined(ev)
		}
	case credentials.MemberRestored:
		if l.Log != nil {
			l.Log.LogAttrs(orBackground(ev.Context), slog.LevelInfo, "rekey: pool key restored", member...)
		}
		if l.MemberRestored != nil {
			l.MemberRestored(ev)
		}
	}
}

// Refresh delivers a credentials.Cache's refresh event.
func (l *Listener) Refresh(ev credentials.RefreshEvent) { l.refresh(ev) }

// refresh delivers a refresh event, with more attributes for the log (a
// pool member's).
func (l *Listener) refresh(ev credentials.RefreshEvent, more ...slog.Attr) {
	var hook func(credentials.RefreshEvent)
	var level slog.Level
	var msg string
	switch ev.Phase {
	case credentials.RefreshStarted:
		hook, level, msg = l.RefreshStarted, slog.LevelDebug, "rekey: refreshing API key"
	case credentials.RefreshSucceeded:
		hook, level, msg = l.RefreshSucceeded, slog.LevelInfo, "rekey: API key refreshed"
	case credentials.RefreshFailed:
		hook, level, msg = l.RefreshFailed, slog.LevelError, "rekey: refreshing API key failed"
	default:
		return
	}
	if l.Log != nil {
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
		l.Log.LogAttrs(orBackground(ev.Context), level, msg, attrs...)
	}
	if hook != nil {
		hook(ev)
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
