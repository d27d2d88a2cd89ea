package grpcrekey

import (
	"context"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/internal/poolwalk"
	"github.com/rekeyhq/rekey/transport"
)

// call is a gRPC call on the recovery path: what its errors and events
// name.
type call struct {
	ctx    context.Context
	method string // "/package.Service/Method"
	cc     *grpc.ClientConn
}

// recoverCall is the recovery path of a call that failed with err after
// sending sent's key, the same for unary calls and streams, top to bottom:
// check the failure; fail over to the next healthy member of a pool, at
// once; refresh the key once for every call that saw it rejected; replay
// the call once with the new key, unless it cannot be (notReplayable says
// why); check the replay. Each step is a small helper, so that a step can
// be added without threading a flag through the others.
func (c *Credentials) recoverCall(cl *call, sent credentials.Member, err error,
	replay func(m credentials.Member) error, notReplayable func() string) error {
	first, err := c.inspect(cl, err, sent)
	if first == nil {
		return err
	}
	// Failover: with a pool, the next healthy member's key, at once.
	first, err = c.failover(cl, first, replay, notReplayable)
	if first == nil {
		return err
	}

	// Refresh: one for every call that saw the same key rejected.
	fresh, rerr := c.renew(cl.ctx, first)
	if rerr != nil {
		return c.refreshFailed(cl, first, rerr)
	}
	// Replay, once.
	if why := notReplayable(); why != "" {
		first.Err.NotReplayed = why
		c.obs.event(transport.EventNotReplayed, cl, first.grpcErr, first.Key)
		return c.giveUp(first)
	}
	c.obs.event(transport.EventReplayed, cl, first.grpcErr, fresh)
	second, err := c.inspect(cl, replay(fresh), fresh)
	if second == nil {
		return err
	}
	if !second.Err.InvalidKey { // a PoolOptions.FailoverOn status: the member cools down, the answer is the server's
		c.setAside(cl, second)
		return second.raw
	}
	c.follow(second, first) // the server may quote any key sent
	second.Err.Replayed = true
	c.replayRejected(cl.ctx, fresh) // the refresh did not help: no other for RejectedKeyCooldown
	c.obs.event(transport.EventReplayRejected, cl, second.grpcErr, fresh)
	return c.giveUp(second)
}

// refusal is a call's invalid-key rejection (or, with a pool, a status that
// PoolOptions.FailoverOn lists: see [failoverStatus]) held while the
// Credentials recover: the error decoded from it, the error as grpc
// returned it, and the member whose key drew it. With a pool, the refusals
// of one call form a chain, newest first.
type refusal struct {
	poolwalk.Refusal               // the error decoded (Err), the key that drew it (Key), the chain
	grpcErr          *Error        // Err with its status: what the call returns, what events carry
	raw              error         // the call's error as grpc returned it: a FailoverOn answer is handed back as it is
	delay            time.Duration // a FailoverOn answer's google.rpc.RetryInfo delay: the member's cooldown
}

// inspect sorts a call's error: the invalid-key rejection (and, with a
// pool, a FailoverOn status) comes back as a refusal, anything else as the
// error to return (nil for success, the insecure-connection refusal as a
// *CredentialError, every other error as it is).
func (c *Credentials) inspect(cl *call, err error, key credentials.Member) (*refusal, error) {
	if err == nil {
		return nil, nil
	}
	st, ok := status.FromError(err)
	switch {
	case !ok:
		return nil, err
	case isRefusal(st):
		return nil, insecureError(cl.method, st)
	case c.cfg.isRejection(st):
		return newRefusal(rejection(cl, st, decodeDetails(st), key.Credential.Key), err, key), nil
	case c.pool != nil && c.pool.FailsOver(failoverStatus(st)):
		d := decodeDetails(st)
		r := newRefusal(rejection(cl, st, d, key.Credential.Key), err, key)
		r.Err.InvalidKey = false
		r.delay = d.retryDelay
		return r, nil
	}
	return nil, err
}

// newRefusal holds the rejection e of a call, whose error as grpc returned
// it is raw, sent with key.
func newRefusal(e *Error, raw error, key credentials.Member) *refusal {
	return &refusal{Refusal: poolwalk.Refusal{Err: e.APIError, Key: key}, grpcErr: e, raw: raw}
}

// refreshFailed completes the rejection r of a call whose key could not be
// refreshed: because the caller gave up waiting (not a failed recovery), or
// because the refresh failed (with a pool: no member got a new key).
func (c *Credentials) refreshFailed(cl *call, r *refusal, err error) error {
	r.Err.Err = err
	if cl.ctx.Err() == nil {
		r.Err.RefreshFailed = true
	}
	return r.grpcErr
}

// giveUp returns the error of a call whose recovery failed at r; with a
// pool, it says what became of each member.
func (c *Credentials) giveUp(r *refusal) error {
	if c.pool != nil && r.Err.Err == nil {
		r.Err.Err = r.PoolError()
	}
	return r.grpcErr
}

// rejection builds the error for the rejection st of a call sent with key,
// from st and its decoded details d.
func rejection(cl *call, st *status.Status, d details, key string) *Error {
	e := &apierr.APIError{
		StatusCode: httpStatus(st.Code()),
		Code:       d.reason,
		Message:    apierr.Clean(st.Message()),
		RequestID:  d.requestID,
		Method:     cl.method,
		URL:        "grpc://" + authority(cl.cc) + cl.method,
		InvalidKey: true,
	}
	if e.Code == "" {
		e.Code = codeName(st.Code())
	}
	e.Cause = causeOf(d.reason, e.Message)
	r := &Error{APIError: e, status: st}
	r.scrub(key)
	return r
}

// authority returns the host (and port) that cc's target names, for the
// URL of events: "api.example.com:443" for "dns:///api.example.com:443",
// "localhost" for a Unix socket.
func authority(cc *grpc.ClientConn) string {
	if cc == nil {
		return ""
	}
	u, err := url.Parse(cc.CanonicalTarget())
	if err != nil {
		return ""
	}
	if strings.HasPrefix(u.Scheme, "unix") {
		return "localhost"
	}
	ep := strings.TrimPrefix(u.Path, "/")
	if ep == "" {
		ep = u.Opaque
	}
	if strings.ContainsAny(ep, "/?#@") { // not a host: leave it out
		return ""
	}
	return ep
}

// unary is the unary client interceptor: inject, and on a rejection,
// recover.
func (c *Credentials) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var key credentials.Member // c.pick written out: the call to it cost 15 ns a call (BenchmarkCallCredentials, CPU time)
	var err error
	if c.pool == nil {
		key.Credential, err = c.cache.Retrieve(ctx)
	} else {
		key, err = c.pool.Pick(ctx)
	}
	if err != nil {
		return &CredentialError{Method: method, Err: err}
	}
	err = invoker(ctx, method, req, reply, cc, c.withKey(key, opts)...)
	if err == nil {
		return nil
	}
	replay := func(m credentials.Member) error {
		return invoker(ctx, method, req, reply, cc, c.withKey(m, opts)...)
	}
	return c.recoverCall(&call{ctx: ctx, method: method, cc: cc}, key, err, replay, replayable)
}

// replayable is notReplayable for a unary call: it always can be (its
// request message is immutable once sent).
func replayable() string { return "" }
