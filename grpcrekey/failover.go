package grpcrekey

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/transport"
)

// The recovery path's steps that differ between one key (a
// credentials.Cache) and several (a credentials.Pool). With a pool, the
// Credentials use the methods of it that rekey's HTTP transport uses, and
// nothing else: Pick, Next, Reject, CoolDown, Await, ReplayRejected and
// FailsOver here, Err, Len and Observe in New (see credentials.Pool and
// transport/failover.go, whose steps these follow).

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
		next, ok := c.pool.Next(cl.ctx, r.tried())
		if !ok || notReplayable() != "" {
			break // the refresh step says why, for a rejection
		}
		c.obs.event(transport.EventFailover, cl, r.err, next)
		n, err := c.inspect(cl, replay(next), next)
		if n == nil {
			return nil, err
		}
		c.follow(n, r)
		r = n
	}
	if !r.err.APIError.InvalidKey {
		return nil, r.raw // as the server sent it: the caller (or gRPC's retry policy) deals with it
	}
	return r, nil
}

// setAside reports the refusal r and, with a pool, takes the member out of
// rotation: a rejected one to be refreshed in the background, one that got
// a FailoverOn status to cool down for the status's google.rpc.RetryInfo
// delay (the pool's Quarantine without one).
func (c *Credentials) setAside(cl *call, r *refusal) {
	if !r.err.APIError.InvalidKey {
		d := c.pool.CoolDown(cl.ctx, r.key, r.delay)
		c.obs.cooldown(cl, r.err, r.key, d)
		return
	}
	c.obs.event(transport.EventKeyRejected, cl, r.err, r.key)
	if c.pool != nil {
		c.pool.Reject(cl.ctx, r.key)
	}
}

// renew waits for a key to replay with after the rejection r: the Cache's
// refresh, coalesced with every call that saw the same key rejected; with a
// pool, the background refresh of each member the call was rejected with,
// in order, until one brings a new key, then any other member that is back
// by now. Each member is refreshed once, however many calls wait for it;
// the error is then a *apierr.PoolError saying why each has no new key.
func (c *Credentials) renew(ctx context.Context, r *refusal) (credentials.Member, error) {
	if c.pool == nil {
		cred, err := c.cache.Invalidate(ctx, r.key.Credential)
		return credentials.Member{Credential: cred}, err
	}
	for _, p := range r.chain() {
		m, err := c.pool.Await(ctx, p.key)
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return credentials.Member{}, ctx.Err()
		}
		p.why = err
	}
	tried := r.tried()
	for i := range c.pool.Len() {
		if tried.Has(i) {
			continue
		}
		m, err := c.pool.Await(ctx, credentials.Member{Index: i})
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return credentials.Member{}, ctx.Err()
		}
		r.others = append(r.others, apierr.MemberError{Index: i, Key: redact(m.Credential.Key), Err: err})
	}
	return credentials.Member{}, r.poolError()
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
	r.prev = prev
	for p := prev; p != nil; p = p.prev {
		r.err.scrub(p.key.Credential.Key)
	}
}

// tried returns the members of the call's refusals.
func (r *refusal) tried() credentials.MemberSet {
	var s credentials.MemberSet
	for p := r; p != nil; p = p.prev {
		s = s.With(p.key.Index)
	}
	return s
}

// chain returns the call's refusals up to r, oldest first.
func (r *refusal) chain() []*refusal {
	var out []*refusal
	for p := r; p != nil; p = p.prev {
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// poolError lists what became of each member the call was sent with, then
// why each other member could not serve it.
func (r *refusal) poolError() *apierr.PoolError {
	chain := r.chain()
	e := &apierr.PoolError{Members: make([]apierr.MemberError, 0, len(chain)+len(r.others))}
	for _, p := range chain {
		e.Members = append(e.Members, apierr.MemberError{
			Index:      p.key.Index,
			Key:        credentials.Redact(p.key.Credential.Key),
			StatusCode: p.err.APIError.StatusCode,
			Cause:      p.err.APIError.Cause,
			Err:        p.why,
		})
	}
	e.Members = append(e.Members, r.others...)
	return e
}

// redact is credentials.Redact, or "" for no key.
func redact(key string) string {
	if key == "" {
		return ""
	}
	return credentials.Redact(key)
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
