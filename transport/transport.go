package transport

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"sync"
	"sync/atomic"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/internal/netaddr"
)

// DefaultMaxErrorBody is how much of a rejection's body the Transport reads
// when MaxErrorBody is zero.
const DefaultMaxErrorBody = 64 << 10

// NoScheme, as Transport.Scheme, sends the bare key in the Authorization
// header, for APIs that expect "Authorization: <key>".
const NoScheme = "-"

// Transport is an http.RoundTripper that authenticates requests with an API
// key and recovers when the API rejects it.
//
// For each request it takes the current key from a [credentials.Cache]
// (lock-free), clones the request and injects the key (by default as
// "Authorization: Bearer <key>"). If the response is the invalid-key
// rejection (see IsRejection), it reads at most MaxErrorBody bytes of it,
// closes it, refreshes the key once for all goroutines that saw the same
// rejection, and replays the request once with the new key (re-reading the
// body through Request.GetBody). A second rejection is not retried.
//
// Unlike most RoundTrippers, Transport interprets one response: the
// invalid-key rejection that recovery could not fix is returned as an error,
// a *[rekey.APIError] that matches [rekey.ErrInvalidAPIKey] (wrapped in
// *url.Error by http.Client), with the response body already closed; set
// ReturnResponse to get the response itself instead. Every other response,
// including a 403 about permissions or a 500, is returned untouched with its
// body readable.
//
// When the replay is rejected too, the Transport tells the Cache
// ([credentials.Cache.ReplayRejected]), so that requests sent again with
// that key within the Cache's RejectedKeyCooldown (by the caller, or by an
// SDK's own retry loop) fail at once without another call of the refresh
// hook.
//
// With a [credentials.Pool] as Credentials, the Transport holds several
// keys for the API and fails over between them: when the API rejects a
// member's key, the request is replayed at once with the next healthy member
// (no wait for a refresh) while the rejected member is refreshed in the
// background, and a status listed in PoolOptions.FailoverOn (402, 429)
// gives that member a cooldown and replays the request with the next one.
// Only when no healthy member is left does the request wait for the refresh
// of a member it was rejected with, and replay once more. Each request is
// sent with each member at most once, and refreshes each at most once. When
// no member serves it, the error is a *[rekey.APIError] whose Err is a
// *[rekey.PoolError] listing each member (index, redacted key, status,
// cause, why it has no new key). See docs/pools.md.
//
// Security: the key is sent only over https, except to a loopback host,
// unless AllowInsecureHTTP is set; it is not sent on a redirect to another
// host, nor (when Hosts is set) to a host not listed.
//
// The zero value plus Credentials (or Refresh) is ready to use. Set the fields
// before first use and do not change them afterwards. A Transport is safe for
// concurrent use and must not be copied after first use.
type Transport struct {
	// Base makes the HTTP requests. nil means http.DefaultTransport.
	Base http.RoundTripper

	// Credentials supplies the key. If it is a *credentials.Cache it is used
	// as is (and Refresh must be nil; configure refreshing on the Cache). If
	// it is a *credentials.Pool, the Transport fails over between its
	// members (see above); Refresh must be nil (give a member a refresh of
	// its own with a *credentials.Cache as its provider), and the Pool,
	// like a Cache passed in, belongs to the caller, who closes it.
	// Otherwise the Transport puts a Cache of its own in front of it (which,
	// with Refresh nil, checks a credentials.Poller such as credentials.File
	// for a new key at its interval while requests are sent).
	Credentials credentials.Provider

	// Refresh obtains a new key after a rejection. nil means asking
	// Credentials again, bypassing the cache (see credentials.Cache).
	Refresh credentials.RefreshFunc

	// Header is the request header that carries the key. Empty means
	// "Authorization".
	Header string

	// Scheme precedes the key and a space in Header. Empty means "Bearer"
	// when Header is Authorization, and nothing for any other header;
	// NoScheme sends the bare key in Authorization.
	Scheme string

	// Query, if set, sends the key in this URL query parameter instead of a
	// header. Prefer a header: URLs end up in logs.
	Query string

	// Basic, if set, sends the key in HTTP Basic authentication
	// ("Authorization: Basic base64(user:password)"), as the password of a
	// fixed user name ([BasicKeyAsPassword]: Mailgun, Twilio, Atlassian) or
	// as the user name with a fixed password ([BasicKeyAsUser]: Stripe,
	// Freshdesk). Header, Scheme and Query must then be empty. See
	// [BasicAuth].
	Basic *BasicAuth

	// Hosts, if not empty, lists the only hosts ("api.example.com", or with a
	// port, "api.example.com:8443") that receive the key; requests to other
	// hosts pass through without it.
	Hosts []string

	// AllowInsecureHTTP permits sending the key over plain http to hosts
	// other than loopback. Leave it false outside tests.
	AllowInsecureHTTP bool

	// IsRejection reports whether a response is the invalid-key rejection.
	// It is consulted for every response but 1xx, 2xx included (Slack
	// answers a revoked token with 200 {"ok": false, "error":
	// "token_revoked"}); body returns the first MaxErrorBody bytes of the
	// response body, reading them on first call, and the Transport restores
	// them, byte for byte, in a response it passes through. See [Matcher]
	// for the contract and ready-made matchers ([Slack], [OKFalse],
	// [StatusHeader], [StatusBody], [AnyOf]). nil means
	// [IsInvalidKeyRejection], which costs nothing on a 2xx or 3xx.
	IsRejection func(resp *http.Response, body func() []byte) bool

	// MaxErrorBody bounds how much of a rejection's body is read. Zero means
	// DefaultMaxErrorBody.
	MaxErrorBody int64

	// ReturnResponse, if set, returns an invalid-key rejection that recovery
	// could not fix (the refresh failed, the replay was rejected too, or the
	// request could not be replayed) as the API's own response, with err ==
	// nil, as net/http's RoundTripper contract expects: status, headers and
	// the whole body (not bounded by MaxErrorBody) are intact, and the
	// caller must close it. Its Request is the caller's request, not the
	// copy that carried the key. Use it under an SDK that decodes the API's
	// errors into its own type (*openai.Error, *stripe.Error, ...): the SDK
	// then reports its usual 401 and does not retry it. While the key is
	// refreshed, the first rejection's body stays open, holding its
	// connection, in case it is the one to return. OnEvent and the
	// Cache's OnRefresh still report the failed recovery. By default
	// (false) the rejection is returned as a *rekey.APIError.
	ReturnResponse bool

	// OnEvent, if set, is told about rejections and replays. It must be fast
	// and must not block.
	OnEvent func(Event)

	once     sync.Once
	cache    *credentials.Cache
	ownCache bool              // cache was made here, so Close closes it
	pool     *credentials.Pool // instead of cache, when Credentials is a Pool
	setupErr error             // a configuration error reported by every request
	header   string            // canonical Header
	scheme   string            // resolved Scheme, "" for none
	hosts    []netaddr.HostPattern
	auth     atomic.Pointer[authValue]
	auths    []atomic.Pointer[authValue] // with a pool: one per member, so that round robin builds no header value per request

	basic *BasicAuth // a copy of Basic, nil if not set
}

// setup resolves the configuration once.
func (t *Transport) setup() {
	for _, h := range t.Hosts {
		t.hosts = append(t.hosts, netaddr.ParseHostPattern(h))
	}
	t.header = textproto.CanonicalMIMEHeaderKey(t.Header)
	if t.header == "" {
		t.header = "Authorization"
	}
	switch {
	case t.Scheme == NoScheme:
	case t.Scheme != "":
		t.scheme = t.Scheme
	case t.header == "Authorization":
		t.scheme = "Bearer"
	}
	c, isCache := t.Credentials.(*credentials.Cache)
	p, isPool := t.Credentials.(*credentials.Pool)
	switch {
	case t.Credentials == nil && t.Refresh == nil:
		t.setupErr = errors.New("rekey: transport has no Credentials: set Transport.Credentials to a credentials.Provider")
	case isCache && t.Refresh != nil:
		t.setupErr = errors.New("rekey: transport has both a credentials.Cache and a Refresh function: set Refresh on the Cache instead")
	case isCache:
		t.cache = c
	case isPool && p == nil:
		t.setupErr = errors.New("rekey: transport has a nil *credentials.Pool: make one with credentials.NewPool")
	case isPool && t.Refresh != nil:
		t.setupErr = errors.New("rekey: transport has both a credentials.Pool and a Refresh function: give a member its own refresh with a *credentials.Cache{Provider: ..., Refresh: ...} as its provider")
	case isPool && p.Err() != nil:
		t.setupErr = p.Err()
	case isPool:
		t.pool = p
		t.auths = make([]atomic.Pointer[authValue], p.Len())
	default:
		t.cache = &credentials.Cache{Provider: t.Credentials, Refresh: t.Refresh}
		t.ownCache = true
	}
	if t.Basic != nil && t.setupErr == nil {
		t.setupErr = t.setupBasic()
	}
}

// Close stops the background refreshes of the Cache the Transport made for
// itself (a Cache or Pool passed in as Credentials belongs to the caller)
// and closes idle connections of Base.
func (t *Transport) Close() error {
	t.once.Do(t.setup)
	t.CloseIdleConnections()
	if t.ownCache {
		return t.cache.Close()
	}
	return nil
}

// CloseIdleConnections closes idle connections of Base, if it can.
func (t *Transport) CloseIdleConnections() { closeIdle(t.base()) }

func (t *Transport) base() http.RoundTripper { return orDefault(t.Base) }

// orDefault returns rt, or http.DefaultTransport if rt is nil: what a nil
// Base means for every RoundTripper in this package.
func orDefault(rt http.RoundTripper) http.RoundTripper {
	if rt != nil {
		return rt
	}
	return http.DefaultTransport
}

// closeIdle closes rt's idle connections, if it has a way to.
func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// String describes the transport without printing a key.
func (t *Transport) String() string {
	if t.Basic != nil {
		return fmt.Sprintf("transport.Transport{Basic: %v, Hosts: %q}", t.Basic, t.Hosts)
	}
	return fmt.Sprintf("transport.Transport{Header: %q, Query: %q, Hosts: %q}", t.Header, t.Query, t.Hosts)
}

// Format implements fmt.Formatter so that no verb dumps the Transport's
// fields, some of which hold the current key.
func (t *Transport) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// rejection builds the *APIError for a rejection of req sent with key: what
// the API said (scrubbed of every form of the key, as [Transport.decoded]),
// marked as an invalid key, with the cause the API named.
func (t *Transport) rejection(req *http.Request, resp *http.Response, body []byte, key string) *apierr.APIError {
	e := t.decoded(req, resp, body, key)
	e.InvalidKey = true
	e.Cause = apierr.CauseOf(e.Code, e.Message)
	return e
}
