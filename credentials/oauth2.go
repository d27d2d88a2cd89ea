package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// tokenExpiryDelta is how long before its Expiry a token is no longer
// handed out, as in golang.org/x/oauth2 (its defaultExpiryDelta).
const tokenExpiryDelta = 10 * time.Second

// FromTokenSource returns a Provider whose keys are the access tokens of
// ts: Retrieve returns Credential{Key: tok.AccessToken, Expiry: tok.Expiry}
// for the token ts gives, checked with [Validate]. It keeps that token and
// returns it again until ten seconds before its Expiry (forever if it has
// none), as oauth2's own cache does, then asks ts again. Any TokenSource
// works, including the caching ones from oauth2.Config.TokenSource,
// clientcredentials.Config.TokenSource and oauth2.ReuseTokenSource.
//
// The Provider also implements [Refresher], and its Refresh really replaces
// a token the API rejected. Calling ts.Token again would not: a reuse cache
// returns its token for as long as the token's own Expiry says it is
// valid, whatever the API thinks of it. So Refresh(ctx, rejected) goes
// around that cache: when ts is an oauth2 reuse cache (one for which
// oauth2.ReuseTokenSource(nil, ts) returns ts itself), it fetches a new
// token from the source the cache wraps, through a fresh
// oauth2.ReuseTokenSource built around ts; for any other ts it calls
// ts.Token, which must then not cache. If the token obtained is the
// rejected one again (a cache this adapter cannot see through, or a token
// endpoint that reissues it), Refresh fails with an error matching
// [ErrSameKey] that says so. A Refresh for a token that is no longer the
// current one returns the current one without fetching, so a late rejection
// of an old token costs nothing.
//
// FromTokenSource takes ts over: after a Refresh, ts's own cache still
// holds the rejected token, and the source behind it (the refresh-token
// flow of oauth2.Config, for one) is not safe for concurrent use, so do not
// call ts.Token elsewhere. Code that needs a TokenSource for the same
// tokens should use [TokenSource] on this Provider (or on the [Cache] in
// front of it) instead. The Provider calls ts once at a time and is safe
// for concurrent use.
//
// oauth2.TokenSource takes no context. Retrieve and Refresh call ts in a
// goroutine and stop waiting when ctx ends, returning an error that wraps
// ctx.Err(); that call goes on to completion and its token is kept for the
// next caller, which waits for it only as long as its own ctx allows, so at
// most one call to ts is ever in flight. To bound the HTTP request itself,
// give the context passed to oauth2.Config.TokenSource an *http.Client with
// a Timeout (under the oauth2.HTTPClient key).
//
// When ts comes from [TokenSource] in this package, the round trip
// FromTokenSource(TokenSource(p)) goes straight to p, with the caller's
// context: Retrieve calls p.Retrieve, and Refresh replaces the rejected key
// through p ([Cache.Invalidate] for a [Cache], Refresh for a [Refresher],
// else Retrieve). So a key that came through a TokenSource handed out by one
// part of a program is refreshed by the Cache behind it, once for every user
// of that Cache, instead of failing with ErrSameKey.
//
// Printing the Provider with any fmt verb names the type of ts, never a
// token.
func FromTokenSource(ts oauth2.TokenSource) Provider {
	p := &tokenSourceProvider{
		ts:    ts,
		reuse: ts != nil && oauth2.ReuseTokenSource(nil, ts) == ts,
		sem:   make(chan struct{}, 1),
	}
	if pts, ok := ts.(providerTokenSource); ok && pts.p != nil {
		p.inner = pts.p
	}
	return p
}

type tokenSourceProvider struct {
	ts    oauth2.TokenSource
	reuse bool          // ts is an oauth2 reuse cache that a refresh bypasses
	inner Provider      // the Provider behind ts, when ts is our TokenSource; nil otherwise
	sem   chan struct{} // held, from acquisition to the end of the call to ts, by one caller at a time

	latest atomic.Pointer[Credential] // the current token; nil: none yet, or rejected

	// Guarded by sem.
	bypass   bool   // ts's own cache is stale: fetch around it from now on
	rejected string // the last access token passed to Refresh
}

type tokenResult struct {
	cred Credential
	err  error
}

// Retrieve returns the current token, fetching one from ts when there is
// none or it expires within ten seconds.
func (p *tokenSourceProvider) Retrieve(ctx context.Context) (Credential, error) {
	if c := p.latest.Load(); c != nil && usable(*c) {
		return *c, nil
	}
	return p.fetch(ctx, nil)
}

// Refresh returns a token other than rejected: the current one if it is
// already different, else a new one fetched around ts's cache.
func (p *tokenSourceProvider) Refresh(ctx context.Context, rejected Credential) (Credential, error) {
	return p.fetch(ctx, &rejected)
}

// fetch obtains a token from ts unless, once it holds the semaphore, a
// usable one (other than *rejected, for a refresh) is already there.
func (p *tokenSourceProvider) fetch(ctx context.Context, rejected *Credential) (Credential, error) {
	if p.ts == nil {
		return Credential{}, unavailable("credentials.FromTokenSource was given a nil TokenSource", nil)
	}
	if err := ctx.Err(); err != nil {
		return Credential{}, err
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return Credential{}, fmt.Errorf("credentials: waiting for the OAuth2 token source: %w", ctx.Err())
	}
	if c := p.latest.Load(); c != nil && usable(*c) && (rejected == nil || c.Key != rejected.Key) {
		<-p.sem
		return *c, nil
	}
	token := p.ts.Token
	if rejected != nil {
		if rejected.Key != "" {
			p.rejected = rejected.Key
		}
		p.latest.Store(nil)
		p.bypass = p.reuse
	}
	if p.bypass {
		// A reuse cache given an initial token wraps the source of ts, not
		// ts itself: its Token calls that source now, ignoring the stale
		// token ts holds. Under sem, no other call to that source runs.
		token = oauth2.ReuseTokenSource(new(oauth2.Token), p.ts).Token
	}
	done := make(chan tokenResult, 1)
	go func() {
		defer func() { <-p.sem }()
		var r tokenResult
		if p.inner != nil {
			r.cred, r.err = p.fromInner(ctx, rejected)
		} else {
			r.cred, r.err = p.accept(token())
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r.cred, r.err
	case <-ctx.Done():
		return Credential{}, fmt.Errorf("credentials: waiting for the OAuth2 token source: %w", ctx.Err())
	}
}

// accept checks a token from ts and makes it the current one. It runs
// under sem. It copies what it needs out of tok and keeps no reference: a
// token from a reuse cache is shared with it.
func (p *tokenSourceProvider) accept(tok *oauth2.Token, err error) (Credential, error) {
	if err != nil {
		return Credential{}, fmt.Errorf("credentials: OAuth2 token source: %w", err)
	}
	if tok == nil {
		return Credential{}, errors.New("credentials: OAuth2 token source returned neither a token nor an error")
	}
	cred := Credential{Key: tok.AccessToken, Expiry: tok.Expiry}
	if cred.Key == "" {
		return Credential{}, unavailable("OAuth2 token source returned a token without an access token", nil)
	}
	return p.keep(cred)
}

// invalidator is a Provider that replaces a rejected credential through
// Invalidate, as a [Cache] does.
type invalidator interface {
	Invalidate(ctx context.Context, rejected Credential) (Credential, error)
}

// fromInner obtains a credential from the Provider behind a TokenSource of
// this package: a new one in place of *rejected, or the current one when
// rejected is nil. Its errors are returned as they are. It runs under sem.
func (p *tokenSourceProvider) fromInner(ctx context.Context, rejected *Credential) (Credential, error) {
	var cred Credential
	var err error
	inv, canInvalidate := p.inner.(invalidator)
	ref, canRefresh := p.inner.(Refresher)
	switch {
	case rejected != nil && canInvalidate:
		cred, err = inv.Invalidate(ctx, *rejected)
	case rejected != nil && canRefresh:
		cred, err = ref.Refresh(ctx, *rejected)
	default: // the current key, or a Provider that can only be read again
		cred, err = p.inner.Retrieve(ctx)
	}
	if err != nil {
		return Credential{}, err
	}
	return p.keep(cred)
}

// keep checks a credential obtained for this Provider and makes it the
// current one. It runs under sem.
func (p *tokenSourceProvider) keep(cred Credential) (Credential, error) {
	if p.rejected != "" && cred.Key == p.rejected && p.inner != nil {
		return Credential{}, fmt.Errorf("%w: the Provider behind %s returned the rejected key", ErrSameKey, providerTokenSource{p.inner})
	}
	if p.rejected != "" && cred.Key == p.rejected {
		return Credential{}, fmt.Errorf("%w: the OAuth2 token source (%T) returned the rejected access token: "+
			"if it caches tokens, pass FromTokenSource the source it wraps or an oauth2.ReuseTokenSource; "+
			"if not, its token endpoint reissued the token the API refuses", ErrSameKey, p.ts)
	}
	if err := validateFrom("OAuth2 token source", cred.Key); err != nil {
		return Credential{}, err
	}
	p.latest.Store(&cred)
	return cred, nil
}

// usable reports whether c may still be handed out.
func usable(c Credential) bool {
	return c.Expiry.IsZero() || time.Now().Before(c.Expiry.Add(-tokenExpiryDelta))
}

// String names the type of the wrapped source, never a token.
func (p *tokenSourceProvider) String() string {
	return fmt.Sprintf("credentials.FromTokenSource(%T)", p.ts)
}

// Format implements fmt.Formatter so that no verb prints the held token or
// reaches into ts.
func (p *tokenSourceProvider) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// TokenSource returns an oauth2.TokenSource backed by p, so that a Provider
// (typically a [Cache]) plugs into code that wants one, such as
// oauth2.Transport or a client library's option. Each Token call returns a
// new &oauth2.Token{AccessToken: key, TokenType: "Bearer", Expiry: expiry}
// from p.Retrieve, or its error unchanged.
//
// oauth2.TokenSource takes no context, so Retrieve gets
// context.Background(): p must bound its own work, as a Cache does with
// RefreshTimeout and an [ExecProvider] with Timeout. Token does no caching
// of its own; put a Cache in front of a Provider that fetches on every call.
// It is safe for concurrent use if p is. Printing it shows p as p prints
// itself when p has a String method, else p's type only. [FromTokenSource]
// recognises it and goes straight to p, so a key rejected on the far side of
// the round trip is refreshed by p.
func TokenSource(p Provider) oauth2.TokenSource { return providerTokenSource{p: p} }

type providerTokenSource struct{ p Provider }

func (s providerTokenSource) Token() (*oauth2.Token, error) {
	if s.p == nil {
		return nil, unavailable("credentials.TokenSource was given a nil Provider", nil)
	}
	c, err := s.p.Retrieve(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: c.Key, TokenType: "Bearer", Expiry: c.Expiry}, nil
}

// String shows the Provider through its own String, never its fields.
func (s providerTokenSource) String() string {
	if st, ok := s.p.(fmt.Stringer); ok {
		return "credentials.TokenSource(" + st.String() + ")"
	}
	return fmt.Sprintf("credentials.TokenSource(%T)", s.p)
}

// Format implements fmt.Formatter so that no verb dumps the Provider.
func (s providerTokenSource) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }
