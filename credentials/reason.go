package credentials

import "context"

// reasonKey is the context key under which a refresh carries its reason.
type reasonKey struct{}

// WithRefreshReason returns a copy of ctx that carries reason, for
// [RefreshReasonFrom]. A [Cache] does this on the context of every call it
// makes to its refresh source (Provider.Retrieve, [Refresher].Refresh or its
// [RefreshFunc]), so that the source knows why it is asked. Call it yourself
// to call a source directly with a reason: in a test, or in a wrapper that
// refreshes on its own.
func WithRefreshReason(ctx context.Context, reason RefreshReason) context.Context {
	return context.WithValue(ctx, reasonKey{}, reason)
}

// RefreshReasonFrom reports why the call that received ctx was made: the
// reason a [Cache] is refreshing its credential ([ReasonInitial] for the
// first key, [ReasonRejected] after the API refused the key,
// [ReasonExpiring] or [ReasonExpired] for its expiry), as set by
// [WithRefreshReason]. ok is false when ctx carries no reason: the call did
// not come from a Cache (a direct Retrieve, say).
//
// A source can act on it: a refresh hook can extend a key that is about to
// expire but mint a new one for a key the API rejected, and [Exec] passes it
// to its command in the REKEY_REASON environment variable.
func RefreshReasonFrom(ctx context.Context) (reason RefreshReason, ok bool) {
	reason, ok = ctx.Value(reasonKey{}).(RefreshReason)
	return reason, ok
}
