package rekey

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/netaddr"
	"github.com/rekeyhq/rekey/transport"
)

// DefaultUserAgent is the User-Agent of requests made with
// [Client.NewRequest] unless [WithUserAgent] sets another.
const DefaultUserAgent = "rekey-go"

// Client is a JSON client for one HTTP API that authenticates with an API
// key. Build requests with [Client.NewRequest] and send them with
// [Client.Do]; or hand [Client.HTTPClient] to a generated or third-party API
// client.
//
// Every request goes through the same stack:
//
//	http.Client → transport.Retry (transient failures: connection errors,
//	429, 502, 503, 504) → transport.Transport (injects the key; on the
//	invalid-key rejection refreshes it once for all goroutines and replays
//	the request once) → the base http.RoundTripper
//
// The key is held by a credentials.Cache that the Client owns: it refreshes
// a key with a known expiry in the background shortly before it expires
// ([WithExpiryWindow]). Call [Client.Close] to stop that work. Given a
// credentials.Pool ([WithCredentials]), the Client holds several keys and
// fails over between them, with no failed request when one is revoked.
//
// Clients are cheap, so one per key is fine (one per tenant, say): unless
// given a transport ([WithTransport]), all Clients of a process share one
// connection pool, as net/http users share http.DefaultTransport, so that
// connections follow the hosts called and the load, not the number of
// Clients. An idle Client holds no goroutine and no timer, and costs a few
// KiB of heap (BenchmarkIdleClients measures it).
//
// A Client is safe for concurrent use. It never prints its key: not in
// errors, logs, or any fmt verb applied to it.
type Client struct {
	baseURL         *url.URL
	userAgent       string
	idempotencyKeys bool

	http      *http.Client         // for Do
	sdk       *http.Client         // for HTTPClient: http, or a copy in response mode
	keys      credentials.Provider // what the transports take keys from: a Cache, or a Pool
	ownCache  *credentials.Cache   // the Cache the Client made, which Close closes
	unobserve func()               // stops the hooks' and logger's registration with a Pool
	closeOnce sync.Once
}

// NewClient returns a Client for the API at baseURL, which must be an
// absolute http or https URL without a query. Request paths are resolved
// against it as if it ended in a slash: with "https://api.example.com/v1",
// "things" is https://api.example.com/v1/things.
//
// A source of keys is required ([WithCredentials] or [WithRefresh]). A bad
// base URL, a missing key source, plain http to a host that is not loopback
// (without [WithInsecureHTTP]) and conflicting options are reported here,
// not at the first request. NewClient does not fetch the key: the first
// request does.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	var s settings
	for _, opt := range opts {
		opt(&s)
	}
	base, err := parseBaseURL(baseURL, s.insecure)
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}

	c := &Client{
		baseURL:         base,
		userAgent:       s.userAgent,
		idempotencyKeys: s.idempotencyKeys,
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	obs := newObserver(s.hooks, s.logger)

	switch p := s.provider.(type) {
	case *credentials.Cache:
		c.keys = p
	case *credentials.Pool:
		c.keys = p
		if fn := obs.keys.OnPoolEvent(); fn != nil {
			c.unobserve = p.Observe(fn)
		}
	default:
		c.ownCache = &credentials.Cache{
			Provider:            s.provider,
			Refresh:             s.refresh,
			ExpiryWindow:        s.expiryWindow,
			Cooldown:            s.cooldown,
			RejectedKeyCooldown: s.rejectedKeyCooldown,
			OnRefresh:           obs.keys.OnRefresh(),
		}
		c.keys = c.ownCache
	}

	rt := s.base
	if rt == nil && s.httpClient != nil {
		rt = s.httpClient.Transport
	}
	if rt == nil {
		rt = sharedPool() // shared by every such Client; Close leaves it open
	}
	retry := s.retry
	retry.IdempotencyKeys = retry.IdempotencyKeys || s.idempotencyKeys
	// stack builds http.Client → Retry → Transport → rt.
	stack := func(returnResponse bool) *http.Client {
		auth := &transport.Transport{
			Base:              rt,
			Credentials:       c.keys,
			Header:            s.header,
			Scheme:            s.scheme,
			Query:             s.query,
			Basic:             s.basic,
			Hosts:             append([]string{base.Host}, s.hosts...),
			AllowInsecureHTTP: s.insecure,
			IsRejection:       s.isRejection,
			ReturnResponse:    returnResponse,
			OnEvent:           obs.onEvent(),
		}
		return newHTTPClient(&transport.Retry{Base: auth, Policy: retry, OnRetry: obs.onRetry()}, &s)
	}
	c.http = stack(false)
	c.sdk = c.http
	if s.returnResponse {
		// HTTPClient's stack hands back the rejection as a response; Do's
		// keeps the error, which says what rekey did about it. Both share
		// the Cache and the connection pool.
		c.sdk = stack(true)
	}

	return c, nil
}

// newHTTPClient returns the http.Client around rt, with the timeout, jar and
// redirect policy the options give.
func newHTTPClient(rt http.RoundTripper, s *settings) *http.Client {
	hc := &http.Client{Transport: rt, Timeout: s.timeout}
	if o := s.httpClient; o != nil {
		hc.Jar, hc.CheckRedirect = o.Jar, o.CheckRedirect
		if s.timeout == 0 {
			hc.Timeout = o.Timeout
		}
	}
	return hc
}

// parseBaseURL checks baseURL and gives its path a trailing slash.
func parseBaseURL(baseURL string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("rekey: base URL %q: %w", baseURL, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("rekey: base URL %q must start with https:// (or http:// for loopback)", baseURL)
	case u.Host == "":
		return nil, fmt.Errorf("rekey: base URL %q has no host", baseURL)
	case u.User != nil:
		return nil, fmt.Errorf("rekey: base URL for host %s must not contain user information: pass the key with WithCredentials", u.Host)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("rekey: base URL %s must not have a query or fragment", (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String())
	case u.Scheme == "http" && !insecure && !netaddr.IsLoopback(u.Hostname()):
		return nil, fmt.Errorf("%w: base URL %s is plain http to a host that is not loopback: use https, or pass rekey.WithInsecureHTTP() for a trusted network", ErrInsecureRequest, u)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// BaseURL returns a copy of the URL that request paths are resolved against.
func (c *Client) BaseURL() *url.URL {
	u := *c.baseURL
	return &u
}

// HTTPClient returns an *http.Client that sends requests through the
// Client's whole stack (retries, key injection and recovery), for a
// generated or third-party API client. Its errors match the same targets as
// [Client.Do]'s, wrapped in *url.Error; with [WithReturnResponse], an
// invalid-key rejection that recovery could not fix arrives instead as the
// API's own response, for the SDK to decode. The key goes only to the base URL's
// host and those given to [WithHosts]. Each call returns a new
// *http.Client sharing the stack, so changing one does not affect the
// Client.
func (c *Client) HTTPClient() *http.Client {
	hc := *c.sdk
	return &hc
}

// Close stops the background refreshes of the Client's key cache and waits
// for them to return, and unregisters the Client's hooks and logger from a
// credentials.Pool given to it. It releases only what belongs to the
// Client (a Cache or Pool given to [WithCredentials] is the caller's): the
// connection pool is shared with other Clients (or, with [WithTransport],
// belongs to the caller), so its connections stay open for them; close a
// transport of your own yourself. Requests made after Close still use the
// key held, until it expires. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.ownCache != nil {
			c.ownCache.Close()
		}
		if c.unobserve != nil {
			c.unobserve()
		}
	})
	return nil
}

// String describes the Client without its key.
func (c *Client) String() string {
	return "rekey.Client{BaseURL: " + c.baseURL.String() + "}"
}

// Format implements fmt.Formatter so that no verb dumps the Client's fields.
func (c *Client) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }
