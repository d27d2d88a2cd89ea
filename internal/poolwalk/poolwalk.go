// Package poolwalk holds the part of a request's recovery that is the same
// for HTTP (package transport) and gRPC (module grpcrekey): the chain of one
// request's refusals, and with a credentials.Pool, the wait for the refused
// members' background refreshes and the *apierr.PoolError that says why
// none could serve the request. How a refusal is recognised, replayed,
// reported and cooled down differs between the protocols, and stays with
// each.
//
// grpcrekey, a module of its own, imports this package from the core
// module. Every module is released at one version (RELEASING.md), but a
// program may build an older grpcrekey against a newer core: change this
// package's API by adding to it, never by changing or removing a name.
package poolwalk

import (
	"context"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// Refusal is what recovery keeps of one refusal of a request, an
// invalid-key rejection or, with a pool, a PoolOptions.FailoverOn answer:
// what the server said, decoded, and the member whose key drew it. The
// transport and grpcrekey embed it in their own refusal, beside what only
// their protocol has. With a pool, the refusals of one request form a
// chain, newest first ([Refusal.Follow]).
type Refusal struct {
	Err *apierr.APIError   // the refusal, decoded; never nil
	Key credentials.Member // the key sent, and with a pool its member

	prev   *Refusal             // the refusal before this one in the same request
	why    error                // with a pool: why this member could not serve the request again
	others []apierr.MemberError // with a pool: the members the request was not sent with, and why
}

// Follow chains r after prev, the refusal before it in the same request,
// and calls scrub with each key sent before r, newest first: the server may
// quote any of them.
func (r *Refusal) Follow(prev *Refusal, scrub func(key string)) {
	r.prev = prev
	for p := prev; p != nil; p = p.prev {
		scrub(p.Key.Credential.Key)
	}
}

// Tried returns the members of the request's refusals up to r.
func (r *Refusal) Tried() credentials.MemberSet {
	var s credentials.MemberSet
	for p := r; p != nil; p = p.prev {
		s = s.With(p.Key.Index)
	}
	return s
}

// Renew waits, after the rejection r, for a key of pool to replay the
// request with: the background refresh of each member the request was
// rejected with, in order, until one brings a new key; then any other
// member, out already when the request was sent, that has a new key by
// now, from a refresh another request started. Each member is refreshed
// once, however many requests wait for it. The error is ctx's, or else a
// *apierr.PoolError saying why each member has no new key.
func (r *Refusal) Renew(ctx context.Context, pool *credentials.Pool) (credentials.Member, error) {
	for _, p := range r.chain() {
		m, err := pool.Await(ctx, p.Key)
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return credentials.Member{}, ctx.Err()
		}
		p.why = err
	}
	tried := r.Tried()
	for i := range pool.Len() {
		if tried.Has(i) {
			continue
		}
		m, err := pool.Await(ctx, credentials.Member{Index: i})
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return credentials.Member{}, ctx.Err()
		}
		r.others = append(r.others, apierr.MemberError{Index: i, Key: redact(m.Credential.Key), Err: err})
	}
	return credentials.Member{}, r.PoolError()
}

// PoolError lists what became of each member the request was sent with,
// oldest first, then why each other member could not serve it (as far as
// [Refusal.Renew] found out).
func (r *Refusal) PoolError() *apierr.PoolError {
	chain := r.chain()
	e := &apierr.PoolError{Members: make([]apierr.MemberError, 0, len(chain)+len(r.others))}
	for _, p := range chain {
		e.Members = append(e.Members, apierr.MemberError{
			Index:      p.Key.Index,
			Key:        credentials.Redact(p.Key.Credential.Key),
			StatusCode: p.Err.StatusCode,
			Cause:      p.Err.Cause,
			Err:        p.why,
		})
	}
	e.Members = append(e.Members, r.others...)
	return e
}

// chain returns the request's refusals up to r, oldest first.
func (r *Refusal) chain() []*Refusal {
	var out []*Refusal
	for p := r; p != nil; p = p.prev {
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// redact is credentials.Redact, or "" for no key.
func redact(key string) string {
	if key == "" {
		return ""
	}
	return credentials.Redact(key)
}
