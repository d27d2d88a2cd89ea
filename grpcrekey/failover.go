package grpcrekey

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// The recovery path's steps that differ between one key (a
// credentials.Cache) and several (a credentials.Pool). With a pool, the
// Credentials use the methods of it that rekey's HTTP transport uses, and
// nothing else: Pick, Next, Reject, CoolDown, Await, ReplayRejected and
// FailsOver here and in internal/poolwalk (Await, Len), Err, Len and
// Observe in New (see credentials.Pool and transport/failover.go, whose
// steps these follow; internal/poolwalk holds what the two share).

// pick returns the key to send a call with: the Cache's (lock-free), or the
// pool member's that credentials.Pool.Pick chooses (lock-free too).
func (c *Credentials) pick(ctx context.Context) (credentials.Member, error) {
	if c.pool != nil {
		return c.pool.Pick(ctx)
	}
	cred, err := c.cache.Retrieve(ctx)
	return credentials.Member{Credential: cred}, err
}

// failover is the step after a refusal. It reports the refusal and, with a
// pool, sets the refused member aside (its refresh, or its cooldown, runs in
// the background) and replays the call at once with the next healthy
// member, for as long as members refuse it and the call can be replayed.
// It returns either the outcome to hand back (nil for success; the last
// FailoverOn answer, as grpc returned it, when no member is left; any other
// error) with a nil refusal, or else the last invalid-key rejection, for
// the refresh step. With one key it only reports the rejection.
func (c *Credentials) failover(cl *call, r *refusal, replay func(credentials.Member) error, notReplayable func() string) (*refusal, error) {
	for {
		c.setAside(cl, r)
		if c.pool == nil {
			return r, nil
		}
		next, ok := c.pool.Next(cl.ctx, r.Tried())
		if !ok || notReplayable() != "" {
			break // the refresh step says why, for a rejection
		}
		c.obs.event(transport.EventFailover, cl, r.grpcErr, next)
		n, err := c.inspect(cl, replay(next), next)
		if n == nil {
			return nil, err
		}
		c.follow(n, r)
		r = n
	}
	if !r.Err.InvalidKey {
		return nil, r.raw // as the server sent it: the caller (or gRPC's retry policy) deals with it
	}
	return r, nil
}

// setAside reports the refusal r and, with a pool, takes the member out of
// rotation: a rejected one to be refreshed in the background, one that got
// a FailoverOn status to cool down for the status's google.rpc.RetryInfo
// delay (the pool's Quarantine without one).
func (c *Credentials) setAside(cl *call, r *refusal) {
	if !r.Err.InvalidKey {
		d := c.pool.CoolDown(cl.ctx, r.Key, r.delay)
		c.obs.cooldown(cl, r.grpcErr, r.Key, d)
		return
	}
	c.obs.event(transport.EventKeyRejected, cl, r.grpcErr, r.Key)
	if c.pool != nil {
		c.pool.Reject(cl.ctx, r.Key)
	}
}

// renew waits for a key to replay with after the rejection r: the Cache's
// refresh, coalesced with every call that saw the same key rejected; with a
// pool, the background refresh of each member the call was rejected with,
// in order, until one brings a new key, then any other member that is back
// by now (poolwalk.Refusal.Renew, as for HTTP). Each member is refreshed
// once, however many calls wait for it; the error is then a
// *apierr.PoolError saying why each has no new key.
func (c *Credentials) renew(ctx context.Context, r *refusal) (credentials.Member, error) {
	if c.pool == nil {
		cred, err := c.cache.Invalidate(ctx, r.Key.Credential)
		return credentials.Member{Credential: cred}, err
	}
	return r.Renew(ctx, c.pool)
}

// replayRejected tells the key's source that the key renew produced was
// rejected too, so that it is not refreshed again for the Cache's
// RejectedKeyCooldown.
func (c *Credentials) replayRejected(ctx context.Context, fresh credentials.Member) {
	if c.pool != nil {
		c.pool.ReplayRejected(ctx, fresh)
		return
	}
	c.cache.ReplayRejected(fresh.Credential)
}

// follow chains r after prev, the refusal before it in the same call, and
// scrubs from r's error every key sent before: the server may quote any of
// them.
func (c *Credentials) follow(r, prev *refusal) {
	r.Follow(&prev.Refusal, r.grpcErr.scrub)
}

// failoverStatus returns the HTTP status that st counts as in
// PoolOptions.FailoverOn, or 0 for none. PoolOptions.FailoverOn lists HTTP
// statuses, for keys that are valid but cannot serve now (402 for an
// exhausted balance, 429 for a key over its quota); gRPC has one code for
// that, ResourceExhausted ("perhaps a per-user quota"), which
// google/rpc/code.proto maps to HTTP 429
// (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).
// So a ResourceExhausted status counts as 429, and nothing else counts:
//
//   - no gRPC code maps to 402;
//   - ResourceExhausted that grpc-go reports itself (a message over the
//     size limit, which on the receiving side means the server already
//     answered; an HTTP/2 stream reset) is not about the key, and is left
//     alone;
//   - Unavailable (503), DeadlineExceeded (504), Internal and Unknown (500)
//     are also what grpc-go reports for a broken connection or a deadline,
//     possibly after the server acted on the call: another key cannot help,
//     and replaying could apply the call twice;
//   - the other codes do not say that a key is out of quota.
func failoverStatus(st *status.Status) int {
	if st.Code() != codes.ResourceExhausted || isLocalExhaustion(st.Message()) {
		return 0
	}
	return http.StatusTooManyRequests
}

// isLocalExhaustion reports whether msg is that of a ResourceExhausted
// status grpc-go makes itself rather than receives from the server: its
// message-size limits ("grpc: received message larger than max ...",
// "trying to send message larger than max ...") and an HTTP/2 stream reset
// with FLOW_CONTROL_ERROR or ENHANCE_YOUR_CALM ("stream terminated by
// RST_STREAM with error code: ...").
func isLocalExhaustion(msg string) bool {
	return strings.HasPrefix(msg, "grpc: ") ||
		strings.HasPrefix(msg, "trying to send message larger than max") ||
		strings.HasPrefix(msg, "stream terminated by RST_STREAM")
}
