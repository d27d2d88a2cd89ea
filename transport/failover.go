package transport

import (
	"context"
	"net/http"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// The recovery path's steps that differ between one key (a
// credentials.Cache) and several (a credentials.Pool). With a pool, the
// Transport uses these methods of it, and nothing else: Pick, Next, Reject,
// CoolDown, Await, ReplayRejected and FailsOver here and in
// internal/poolwalk (Await, Len), Err and Len in setup (see
// credentials.Pool). grpcrekey drives a Pool the same way, and shares
// internal/poolwalk.

// pick returns the key to send a request with: the Cache's (lock-free), or
// the pool member's that credentials.Pool.Pick chooses.
func (t *Transport) pick(ctx context.Context) (credentials.Member, error) {
	if t.pool != nil {
		return t.pool.Pick(ctx)
	}
	cred, err := t.cache.Retrieve(ctx)
	return credentials.Member{Credential: cred}, err
}

// failover is the step after a refusal. It reports the refusal and, with a
// pool, sets the refused member aside (its refresh, or its cooldown, runs in
// the background) and replays req at once with the next healthy member,
// for as long as members refuse it. It returns the answer to hand back (an
// accepted response; the last PoolOptions.FailoverOn answer, as the API
// sent it, when no member is left; or a transport error), or else the last
// invalid-key rejection, for the refresh step. With one key it only reports
// the rejection.
func (t *Transport) failover(req *http.Request, r *refusal) (*http.Response, *refusal, error) {
	for {
		t.setAside(req, r)
		if t.pool == nil {
			return nil, r, nil
		}
		next, ok := t.pool.Next(req.Context(), r.Tried())
		if !ok || t.usable(next) != nil { // Basic auth: a key that cannot go where it is set to
			break
		}
		body, why := replayBody(req)
		if why != "" {
			break // the refresh step says why, for a rejection
		}
		r.discard()
		t.emit(EventFailover, req, r.Err, next)
		resp, err := t.base().RoundTrip(t.authorize(req, next, body))
		if err != nil {
			return nil, nil, err
		}
		n, refused := t.check(req, resp, next)
		if !refused {
			return passThrough(req, resp), nil, nil
		}
		t.follow(n, r)
		r = n
	}
	if !r.Err.InvalidKey {
		return passThrough(req, r.resp), nil, nil // as the API sent it, body intact: the caller (or Retry, for a 429) deals with it
	}
	return nil, r, nil
}

// setAside reports the refusal r and, with a pool, takes the member out of
// rotation: a rejected one to be refreshed in the background, one that got
// a FailoverOn status to cool down for the response's Retry-After (the
// pool's Quarantine without one).
func (t *Transport) setAside(req *http.Request, r *refusal) {
	if !r.Err.InvalidKey {
		wait, _ := retryAfter(r.resp)
		d := t.pool.CoolDown(req.Context(), r.Key, wait)
		t.emitCooldown(req, r, d)
		return
	}
	t.emit(EventKeyRejected, req, r.Err, r.Key)
	if t.pool != nil {
		t.pool.Reject(req.Context(), r.Key)
	}
}

// renew waits for a key to replay with after the rejection r: the Cache's
// refresh, coalesced with every request that saw the same key rejected;
// with a pool, the background refresh of each member the request was
// rejected with, in order, until one brings a new key, then any other
// member that is back by now (poolwalk.Refusal.Renew, which grpcrekey uses
// too). Each is refreshed once, however many requests wait for it; the
// error is then a *apierr.PoolError saying why each has no new key.
func (t *Transport) renew(ctx context.Context, r *refusal) (credentials.Member, error) {
	if t.pool == nil {
		cred, err := t.cache.Invalidate(ctx, r.Key.Credential)
		return credentials.Member{Credential: cred}, err
	}
	return r.Renew(ctx, t.pool)
}

// replayRejected tells the key's source that the key renew produced was
// rejected too, so that it is not refreshed again for the Cache's
// RejectedKeyCooldown.
func (t *Transport) replayRejected(ctx context.Context, fresh credentials.Member) {
	if t.pool != nil {
		t.pool.ReplayRejected(ctx, fresh)
		return
	}
	t.cache.ReplayRejected(fresh.Credential)
}

// follow chains r after prev, the refusal before it in the same request,
// and scrubs from r's error every key sent before: the server may quote
// any of them.
func (t *Transport) follow(r, prev *refusal) {
	r.Follow(&prev.Refusal, func(key string) { t.scrub(r.Err, key) })
}

// decoded builds the error for an answer to req sent with key: what the API
// said, scrubbed of every form of the key. For a FailoverOn answer it is
// the error itself (for the events and a *PoolError); [Transport.rejection]
// builds the invalid-key rejection on it.
func (t *Transport) decoded(req *http.Request, resp *http.Response, body []byte, key string) *apierr.APIError {
	e := apierr.Decode(resp.StatusCode, resp.Header, body)
	e.Method = req.Method
	e.URL = apierr.RequestURL(req.URL)
	t.scrub(e, key)
	return e
}
