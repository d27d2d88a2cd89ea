package grpcrekey

import (
	"context"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
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
// sending the key sent, the same for unary calls and streams, top to
// bottom: check the failure; refresh the key once for every call that saw
// it rejected; replay the call once with the new key, unless it cannot be
// (notReplayable says why); check the replay. Each step is a small helper,
// so that a step (such as failing over to another key of a pool) can be
// added without threading a flag through the others.
func (c *Credentials) recoverCall(cl *call, sent credentials.Credential, err error,
	replay func(fresh credentials.Credential) error, notReplayable func() string) error {
	first, err := c.inspect(cl, err, sent.Key)
	if first == nil {
		return err
	}
	c.obs.event(transport.EventKeyRejected, cl, first)

	fresh, rerr := c.renew(cl.ctx, sent)
	if rerr != nil {
		return c.refreshFailed(cl, first, rerr)
	}
	if why := notReplayable(); why != "" {
		first.APIError.NotReplayed = why
		c.obs.event(transport.EventNotReplayed, cl, first)
		return first
	}
	c.obs.event(transport.EventReplayed, cl, first)

	second, err := c.inspect(cl, replay(fresh), fresh.Key)
	if second == nil {
		return err
	}
	second.scrub(sent.Key) // the server may quote either key sent
	second.APIError.Replayed = true
	c.cache.ReplayRejected(fresh) // the refresh did not help: no other for RejectedKeyCooldown
	c.obs.event(transport.EventReplayRejected, cl, second)
	return second
}

// inspect sorts a call's error: the invalid-key rejection comes back as an
// *Error, anything else as the error to return (nil for success, the
// insecure-connection refusal as a *CredentialError, every other error as
// it is).
func (c *Credentials) inspect(cl *call, err error, key string) (*Error, error) {
	if err == nil {
		return nil, nil
	}
	st, ok := status.FromError(err)
	switch {
	case !ok:
		return nil, err
	case isRefusal(st):
		return nil, insecureError(cl.method, st)
	case !c.cfg.isRejection(st):
		return nil, err
	}
	return rejection(cl, st, key), nil
}

// renew reports the rejection of sent to the Cache and returns the key to
// replay with: a refreshed one, or one that another call's refresh already
// put in place. However many calls saw sent rejected, one refresh runs.
func (c *Credentials) renew(ctx context.Context, sent credentials.Credential) (credentials.Credential, error) {
	return c.cache.Invalidate(ctx, sent)
}

// refreshFailed completes the rejection r of a call whose key could not be
// refreshed: because the caller gave up waiting (not a failed recovery), or
// because the refresh failed.
func (c *Credentials) refreshFailed(cl *call, r *Error, err error) error {
	r.APIError.Err = err
	if cl.ctx.Err() == nil {
		r.APIError.RefreshFailed = true
	}
	return r
}

// rejection decodes the rejection st of a call sent with key.
func rejection(cl *call, st *status.Status, key string) *Error {
	d := decodeDetails(st)
	e := &apierr.APIError{
		StatusCode: httpStatus(st.Code()),
		Code:       d.reason,
		Message:    clean(st.Message()),
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
	cred, err := c.cache.Retrieve(ctx)
	if err != nil {
		return &CredentialError{Method: method, Err: err}
	}
	err = invoker(ctx, method, req, reply, cc, c.withKey(cred, opts)...)
	if err == nil {
		return nil
	}
	replay := func(fresh credentials.Credential) error {
		return invoker(ctx, method, req, reply, cc, c.withKey(fresh, opts)...)
	}
	return c.recoverCall(&call{ctx: ctx, method: method, cc: cc}, cred, err, replay, replayable)
}

// replayable is notReplayable for a unary call: it always can be (its
// request message is immutable once sent).
func replayable() string { return "" }
