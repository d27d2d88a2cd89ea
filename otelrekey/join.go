package otelrekey

import (
	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// JoinHooks returns rekey.Hooks that call, for each event, the matching
// callback of every hs in order, skipping nil ones; a field is nil when
// every hs leaves it nil, so the client skips events nobody listens to.
// Use it to keep your own hooks beside a [Telemetry]'s, since a later
// rekey.WithHooks replaces an earlier one:
//
//	rekey.WithHooks(otelrekey.JoinHooks(tel.Hooks(), myHooks))
func JoinHooks(hs ...rekey.Hooks) rekey.Hooks {
	var out rekey.Hooks
	out.KeyRejected = join(hs, func(h rekey.Hooks) func(transport.Event) { return h.KeyRejected })
	out.RequestReplayed = join(hs, func(h rekey.Hooks) func(transport.Event) { return h.RequestReplayed })
	out.RequestNotReplayed = join(hs, func(h rekey.Hooks) func(transport.Event) { return h.RequestNotReplayed })
	out.ReplayRejected = join(hs, func(h rekey.Hooks) func(transport.Event) { return h.ReplayRejected })
	out.Failover = join(hs, func(h rekey.Hooks) func(transport.Event) { return h.Failover })
	out.MemberCooldown = join(hs, func(h rekey.Hooks) func(transport.Event) { return h.MemberCooldown })
	out.MemberQuarantined = join(hs, func(h rekey.Hooks) func(credentials.PoolEvent) { return h.MemberQuarantined })
	out.MemberRestored = join(hs, func(h rekey.Hooks) func(credentials.PoolEvent) { return h.MemberRestored })
	out.RefreshStarted = join(hs, func(h rekey.Hooks) func(credentials.RefreshEvent) { return h.RefreshStarted })
	out.RefreshSucceeded = join(hs, func(h rekey.Hooks) func(credentials.RefreshEvent) { return h.RefreshSucceeded })
	out.RefreshFailed = join(hs, func(h rekey.Hooks) func(credentials.RefreshEvent) { return h.RefreshFailed })
	out.RetryScheduled = join(hs, func(h rekey.Hooks) func(transport.RetryEvent) { return h.RetryScheduled })
	return out
}

// join combines the callbacks that field picks from each of hs.
func join[E any](hs []rekey.Hooks, field func(rekey.Hooks) func(E)) func(E) {
	var fns []func(E)
	for _, h := range hs {
		if f := field(h); f != nil {
			fns = append(fns, f)
		}
	}
	switch len(fns) {
	case 0:
		return nil
	case 1:
		return fns[0]
	}
	return func(ev E) {
		for _, f := range fns {
			f(ev)
		}
	}
}
