package transport

import (
	"errors"
	"io"
	"net/http"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/internal/poolwalk"
)

// RoundTrip sends req with the current key and recovers from an invalid-key
// rejection as described on [Transport]: fail over to another key of a
// pool, refresh, replay once. It never modifies req, always closes req.Body,
// and honours req's context while waiting for a key.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	bodyClosed := false // req.Body is handed to Base, which closes it
	if req.Body != nil {
		defer func() {
			if !bodyClosed {
				req.Body.Close()
			}
		}()
	}
	t.once.Do(t.setup)
	if t.setupErr != nil {
		return nil, t.setupErr
	}
	if req.URL == nil {
		return nil, errors.New("rekey: request has no URL")
	}
	inject, err := t.guard(req)
	if err != nil {
		return nil, err
	}
	if !inject {
		bodyClosed = true
		return t.base().RoundTrip(req)
	}

	ctx := req.Context()
	key, err := t.pick(ctx)
	if err == nil {
		err = t.usable(key) // Basic auth: a key that cannot go where it is set to
	}
	if err != nil {
		return nil, credentialError(req.Method, apierr.RequestURL(req.URL), err)
	}
	bodyClosed = true
	resp, err := t.base().RoundTrip(t.authorize(req, key, req.Body))
	if err != nil {
		return nil, err
	}
	first, refused := t.check(req, resp, key)
	if !refused {
		return passThrough(req, resp), nil
	}
	// Failover: with a pool, the next healthy member's key, at once.
	resp, first, err = t.failover(req, first)
	if resp != nil || err != nil {
		return resp, err
	}

	// Refresh: one for every request that saw the same key rejected.
	fresh, err := t.renew(ctx, first)
	if err == nil {
		err = t.usable(fresh)
	}
	if err != nil {
		first.Err.Err = err
		if ctx.Err() != nil { // the caller gave up waiting: not a failed recovery
			first.discard()
			return nil, first.Err
		}
		first.Err.RefreshFailed = true
		return t.giveUp(req, first)
	}
	// Replay, once.
	body, why := replayBody(req)
	if why != "" {
		first.Err.NotReplayed = why
		t.emit(EventNotReplayed, req, first.Err, first.Key)
		return t.giveUp(req, first)
	}
	first.discard()
	t.emit(EventReplayed, req, first.Err, fresh)
	resp, err = t.base().RoundTrip(t.authorize(req, fresh, body))
	if err != nil {
		return nil, err
	}
	second, refused := t.check(req, resp, fresh)
	if !refused {
		return passThrough(req, resp), nil
	}
	if !second.Err.InvalidKey { // a PoolOptions.FailoverOn status: the member cools down, the answer is the API's
		t.setAside(req, second)
		return passThrough(req, resp), nil
	}
	t.follow(second, first) // the server may quote any key we sent
	second.Err.Replayed = true
	t.replayRejected(ctx, fresh) // the refresh did not help: no other for RejectedKeyCooldown
	t.emit(EventReplayRejected, req, second.Err, fresh)
	return t.giveUp(req, second)
}

// passThrough returns resp, which answered the copy of req that carried the
// key, with a Request that does not carry it: callers and SDKs keep
// responses (and so their Request) in error values and logs. Below 400 that
// is req itself; for an error status, a copy of req that also records the
// sent request, so that rekey's own error decoding can still scrub a key
// the server echoed (see apierr.WithSent).
func passThrough(req *http.Request, resp *http.Response) *http.Response {
	switch {
	case resp.StatusCode < 400 || resp.Request == nil:
		resp.Request = req
	case resp.Request != req:
		resp.Request = apierr.WithSent(req, resp.Request)
	}
	return resp
}

// refusal is an invalid-key rejection (or, with a pool, a
// PoolOptions.FailoverOn status) held while the Transport recovers: the
// response, its body still open (the bytes the matcher read, then the rest
// of the stream), the error decoded from it, and the key that drew it.
// With a pool, the refusals of one request form a chain, newest first.
type refusal struct {
	poolwalk.Refusal // the error decoded (Err), the key that drew it (Key), the chain
	resp             *http.Response
}

// discard closes the held response: recovery goes on without it.
func (r *refusal) discard() { r.resp.Body.Close() }

// giveUp ends a recovery of req that failed. By default the rejection is
// returned as an error and its body closed; with ReturnResponse, the
// response itself is returned, body intact, for a caller that decodes its
// own errors. Its Request is then req, not the copy that carried the key:
// SDKs keep the response in their error values, which get logged.
func (t *Transport) giveUp(req *http.Request, r *refusal) (*http.Response, error) {
	if t.pool != nil && r.Err.Err == nil {
		r.Err.Err = r.PoolError()
	}
	if t.ReturnResponse {
		r.resp.Request = req
		return r.resp, nil
	}
	r.discard()
	return nil, r.Err
}

// check reports whether resp is the invalid-key rejection; if it is, it
// decodes the first MaxErrorBody bytes of the body into the error and holds
// the response, its body restored, for [Transport.giveUp] or
// [refusal.discard]. The matcher sees every response but 1xx (a 101's body
// is the connection); the default one recognises nothing below 400, so for
// it a 2xx or 3xx costs one comparison.
//
// With a pool, a status of PoolOptions.FailoverOn that is not the
// rejection is a refusal too, held with its body restored: failover hands
// it back as the API sent it when no member is left.
func (t *Transport) check(req *http.Request, resp *http.Response, key credentials.Member) (*refusal, bool) {
	isRejection := t.IsRejection
	switch {
	case resp.StatusCode < 200:
		return nil, false
	case isRejection == nil && resp.StatusCode < 400:
		return nil, false
	case isRejection == nil:
		isRejection = IsInvalidKeyRejection
	}
	limit := t.MaxErrorBody
	if limit <= 0 {
		limit = DefaultMaxErrorBody
	}
	p := &peeker{body: resp.Body, limit: limit}
	if !isRejection(resp, p.bytes) {
		if t.pool != nil && t.pool.FailsOver(resp.StatusCode) {
			e := t.decoded(req, resp, p.bytes(), key.Credential.Key)
			resp.Body = p.restored()
			return &refusal{Refusal: poolwalk.Refusal{Err: e, Key: key}, resp: resp}, true
		}
		if p.read {
			resp.Body = p.restored()
		}
		return nil, false
	}
	body := p.bytes()
	if t.ReturnResponse {
		resp.Body = p.restored() // held for giveUp
	} else {
		resp.Body.Close()
		resp.Body = http.NoBody // nothing to hold: the error carries what matters
	}
	e := t.rejection(req, resp, body, key.Credential.Key)
	return &refusal{Refusal: poolwalk.Refusal{Err: e, Key: key}, resp: resp}, true
}

// replayBody returns a fresh copy of req's body for a replay, or why the
// request cannot be replayed.
func replayBody(req *http.Request) (io.ReadCloser, string) {
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		return req.Body, ""
	case req.GetBody == nil:
		return nil, "its body cannot be re-read (no Request.GetBody); send it again"
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, "Request.GetBody failed (" + err.Error() + "); send it again"
	}
	return body, ""
}

// authorize returns a shallow copy of req that carries key's credential,
// with body as its body. req itself is not modified.
func (t *Transport) authorize(req *http.Request, m credentials.Member, body io.ReadCloser) *http.Request {
	key := m.Credential.Key
	r := new(http.Request)
	*r = *req
	r.Body = body
	if t.Query != "" {
		u := *req.URL
		q := u.Query()
		q.Set(t.Query, key)
		u.RawQuery = q.Encode()
		r.URL = &u
		r.Header = req.Header.Clone()
		if r.Header == nil {
			r.Header = make(http.Header)
		}
		return r
	}
	r.Header = cloneHeaderWith(req.Header, t.header, t.headerValue(m))
	return r
}

// headerValue returns the header value for m's key, built once per key
// rather than once per request.
func (t *Transport) headerValue(m credentials.Member) string { return t.authFor(m).value }

// authFor returns the header value of m's key, and why the key cannot be
// sent in the Transport's placement (see [Transport.usable]), computed once
// per key and kept in one slot per pool member, so that round robin builds
// none per request.
func (t *Transport) authFor(m credentials.Member) *authValue {
	slot := &t.auth
	if t.auths != nil {
		slot = &t.auths[m.Index]
	}
	key := m.Credential.Key
	if a := slot.Load(); a != nil && a.key == key {
		return a
	}
	a := &authValue{key: key, value: key}
	switch {
	case t.basic != nil:
		if a.err = t.basic.check(key); a.err == nil {
			a.value = "Basic " + t.basic.encode(key)
		}
	case t.scheme != "":
		a.value = t.scheme + " " + key
	}
	slot.Store(a)
	return a
}

// authValue is a key, the header value built from it, and why the key
// cannot be sent, if it cannot.
type authValue struct {
	key, value string
	err        error
}

// cloneHeaderWith copies h with name set to the single value, in one
// allocation for all values.
func cloneHeaderWith(h http.Header, name, value string) http.Header {
	n := 1
	for _, vv := range h {
		n += len(vv)
	}
	values := make([]string, n)
	values[0] = value
	out := make(http.Header, len(h)+1)
	out[name] = values[:1:1]
	values = values[1:]
	for k, vv := range h {
		if k == name {
			continue // the caller's own value is replaced
		}
		c := copy(values, vv)
		out[k] = values[:c:c]
		values = values[c:]
	}
	return out
}

// peeker reads the first bytes of a response body on demand.
type peeker struct {
	body  io.ReadCloser
	limit int64
	buf   []byte
	err   error
	read  bool
}

func (p *peeker) bytes() []byte {
	if !p.read {
		p.read = true
		if p.body == nil || p.body == http.NoBody {
			return nil
		}
		p.buf, p.err = io.ReadAll(io.LimitReader(p.body, p.limit))
	}
	return p.buf
}

// restored returns a body that yields the peeked bytes, then the rest (or
// the error that stopped the peek), and closes the original body.
func (p *peeker) restored() io.ReadCloser {
	if p.body == nil || p.body == http.NoBody {
		return p.body
	}
	var rest io.Reader = p.body
	if p.err != nil {
		rest = errReader{p.err}
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytesReader(p.buf), rest), p.body}
}

// errReader ends a restored body with the error that stopped the peek. It
// never returns (0, nil): with no error it reports io.EOF, so that a reader
// of the body cannot spin on it forever.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) {
	if r.err == nil {
		return 0, io.EOF
	}
	return 0, r.err
}
