package rekey

import (
	"context"
	"log/slog"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/keyevents"
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

	// Failover: with a credentials.Pool, the request is replayed at once
	// with another member (Event.Member, Event.MemberKey) after the
	// previous one's key was rejected (reported by KeyRejected) or got a
	// PoolOptions.FailoverOn status (reported by MemberCooldown).
	Failover func(transport.Event)
	// MemberCooldown: with a credentials.Pool, the API answered a status
	// of PoolOptions.FailoverOn to a member's key; the member is left out
	// for Event.Cooldown.
	MemberCooldown func(transport.Event)
	// MemberQuarantined: a pool member's refresh produced no new key; its
	// provider is read again at PoolEvent.Until.
	MemberQuarantined func(credentials.PoolEvent)
	// MemberRestored: a pool member is back in rotation, with a new key or
	// at the end of its cooldown.
	MemberRestored func(credentials.PoolEvent)

	// RefreshStarted: a refresh of the key began (RefreshEvent.Reason says
	// why: first key, rejected, expiring, expired, changed in its source).
	// With a credentials.Pool, the three Refresh hooks report the
	// refreshes of every member whose Cache the Pool made.
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
	keys  keyevents.Listener // the key source's events: refreshes, pool members (as grpcrekey's)
}

func newObserver(h Hooks, log *slog.Logger) *observer {
	return &observer{hooks: h, log: log, keys: keyevents.Listener{
		Log:               log,
		RefreshStarted:    h.RefreshStarted,
		RefreshSucceeded:  h.RefreshSucceeded,
		RefreshFailed:     h.RefreshFailed,
		MemberQuarantined: h.MemberQuarantined,
		MemberRestored:    h.MemberRestored,
	}}
}

// onEvent returns the transport.Transport's OnEvent, or nil if nobody
// listens (so the hot path pays nothing).
func (o *observer) onEvent() func(transport.Event) {
	h := o.hooks
	if o.log == nil && h.KeyRejected == nil && h.RequestReplayed == nil && h.RequestNotReplayed == nil && h.ReplayRejected == nil &&
		h.Failover == nil && h.MemberCooldown == nil {
		return nil
	}
	return o.event
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
	case transport.EventFailover:
		hook, level, msg = o.hooks.Failover, slog.LevelInfo, "rekey: request replayed with another key of the pool"
	case transport.EventMemberCooldown:
		hook, msg = o.hooks.MemberCooldown, "rekey: pool key cooling down after a failover status"
	default:
		return
	}
	if ev.Kind == transport.EventKeyRejected && ev.Pooled {
		msg = "rekey: API key rejected; failing over, refreshing it in the background"
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
		if ev.Pooled {
			attrs = append(attrs, slog.Int("member", ev.Member), slog.String("member_key", ev.MemberKey))
		}
		if ev.Cooldown > 0 {
			attrs = append(attrs, slog.Duration("cooldown", ev.Cooldown))
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
