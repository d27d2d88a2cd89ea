package rekey

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// An Option configures a [Client]. [NewClient] checks the options together
// and reports a bad one as its error.
type Option func(*settings)

// settings is what the options collect; NewClient turns it into a Client.
type settings struct {
	provider            credentials.Provider
	refresh             credentials.RefreshFunc
	base                http.RoundTripper
	httpClient          *http.Client
	header              string
	scheme              string
	query               string
	basic               *transport.BasicAuth
	hosts               []string
	insecure            bool
	isRejection         func(*http.Response, func() []byte) bool
	retry               transport.RetryPolicy
	idempotencyKeys     bool
	logger              *slog.Logger
	hooks               Hooks
	userAgent           string
	timeout             time.Duration
	expiryWindow        time.Duration
	cooldown            time.Duration
	rejectedKeyCooldown time.Duration
	returnResponse      bool
	errs                []error
}

func (s *settings) fail(format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf("rekey: "+format, args...))
}

// WithCredentials sets where the API key comes from, for example
// credentials.Env("EXAMPLE_API_KEY"). The Client puts a [credentials.Cache]
// in front of it; if p is itself a *credentials.Cache it is used as is (and
// the Client's refresh hooks, expiry window and Close do not apply to it).
//
// If p is a *credentials.Pool (several keys for the API), the Client fails
// over between its members (see docs/pools.md): [WithRefresh],
// [WithExpiryWindow], [WithCooldown] and [WithRejectedKeyCooldown] do not
// apply (give a member a refresh of its own with a *credentials.Cache as
// its provider), and the Pool belongs to the caller, who closes it after
// the Client. The Client's hooks and logger are told of the members'
// quarantines, restorations and refreshes until [Client.Close].
func WithCredentials(p credentials.Provider) Option {
	return func(s *settings) {
		if p == nil {
			s.fail("WithCredentials(nil): pass a credentials.Provider")
		}
		s.provider = p
	}
}

// WithRefresh sets the hook that obtains a new key after the API rejects the
// current one, or before it expires. Without it, the Client asks the
// credentials provider again. With no provider, it also supplies the first
// key (called with a zero rejected Credential).
func WithRefresh(fn credentials.RefreshFunc) Option {
	return func(s *settings) {
		if fn == nil {
			s.fail("WithRefresh(nil): pass a credentials.RefreshFunc")
		}
		s.refresh = fn
	}
}

// WithTransport sets the http.RoundTripper that makes the HTTP requests, under
// rekey's layers: a private connection pool, for example, or one with custom
// TLS settings. The default is a pool shared by every Client in the process
// that is not given one (a clone of http.DefaultTransport that keeps up to 64
// idle connections per host). [Client.Close] does not close rt: it belongs to
// the caller, who may share it between Clients.
func WithTransport(rt http.RoundTripper) Option {
	return func(s *settings) {
		if rt == nil {
			s.fail("WithTransport(nil): pass an http.RoundTripper")
		}
		s.base = rt
	}
}

// WithHTTPClient takes the Transport (as by [WithTransport]), Timeout, Jar and
// CheckRedirect of hc. hc itself is not modified.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) {
		if hc == nil {
			s.fail("WithHTTPClient(nil): pass an *http.Client")
		}
		s.httpClient = hc
	}
}

// WithHeader sends the key in the named request header (for example
// "X-API-Key") instead of Authorization. Unless [WithScheme] says otherwise,
// a custom header carries the bare key.
func WithHeader(name string) Option {
	return func(s *settings) {
		if name == "" {
			s.fail("WithHeader(\"\"): name the header that carries the key")
		}
		s.header = name
	}
}

// WithScheme sets the word before the key in the header: "Bearer" (the
// default for Authorization), "Token", ... Use transport.NoScheme to send the
// bare key in Authorization.
func WithScheme(scheme string) Option {
	return func(s *settings) { s.scheme = scheme }
}

// WithQueryParam sends the key in the named URL query parameter instead of a
// header, for APIs that require it. Prefer a header where the API allows:
// URLs end up in logs (rekey's own errors and logs print URLs without their
// query string).
func WithQueryParam(name string) Option {
	return func(s *settings) {
		if name == "" {
			s.fail("WithQueryParam(\"\"): name the query parameter that carries the key")
		}
		s.query = name
	}
}

// WithBasicAuth sends the key in HTTP Basic authentication, for the APIs
// that take it there: as the password of a fixed user name,
//
//	rekey.WithBasicAuth(transport.BasicKeyAsPassword("api"))            // Mailgun
//	rekey.WithBasicAuth(transport.BasicKeyAsPassword(accountSID))       // Twilio
//	rekey.WithBasicAuth(transport.BasicKeyAsPassword("me@example.com")) // Atlassian Cloud
//
// or as the user name with a fixed or empty password,
//
//	rekey.WithBasicAuth(transport.BasicKeyAsUser(""))  // Stripe
//	rekey.WithBasicAuth(transport.BasicKeyAsUser("X")) // Freshdesk
//
// Each new key is checked for its place (no colon in a user name, not a
// pair encoded by hand) before it is sent; see transport.BasicAuth. It
// cannot be combined with [WithHeader], [WithScheme] or [WithQueryParam].
func WithBasicAuth(b *transport.BasicAuth) Option {
	return func(s *settings) {
		if b == nil {
			s.fail("WithBasicAuth(nil): pass transport.BasicKeyAsPassword(user) or transport.BasicKeyAsUser(password)")
			return
		}
		if err := b.Validate(); err != nil {
			s.errs = append(s.errs, err)
		}
		c := *b // the caller's value may change after NewClient
		s.basic = &c
	}
}

// WithHosts lists more hosts ("uploads.example.com", or with a port) that
// receive the key, besides the base URL's. By default only the base URL's
// host does, even through [Client.HTTPClient].
func WithHosts(hosts ...string) Option {
	return func(s *settings) { s.hosts = append(s.hosts, hosts...) }
}

// WithInsecureHTTP allows sending the key over plain http to hosts that are
// not loopback. Use it only on a trusted network.
func WithInsecureHTTP() Option {
	return func(s *settings) { s.insecure = true }
}

// WithRejection sets how to recognise the API's invalid-key rejection, for
// APIs whose rejection the default does not recognise (see
// transport.Transport.IsRejection and transport.Matcher). The matcher sees
// every response, 2xx included, so that it can recognise Slack's
// 200 {"ok": false, "error": "token_revoked"}; body returns the first bytes
// of the response body, which are restored for a response passed through.
// The default, transport.IsInvalidKeyRejection, recognises every 401 and a
// 400 or 403 whose error says the key is invalid, expired or revoked, and
// reads nothing of a 2xx. Ready-made matchers cover the common other cases:
//
//	rekey.WithRejection(transport.Slack())
//	rekey.WithRejection(transport.AnyOf(transport.IsInvalidKeyRejection,
//		transport.StatusHeader(403, "X-Amzn-Errortype", "ForbiddenException"))) // AWS API Gateway
//	rekey.WithRejection(transport.AnyOf(transport.IsInvalidKeyRejection,
//		transport.StatusBody(400, "etcdserver: revision of auth store is old")))
//
// docs/tested-against.md lists the matcher each API in rekey's corpus
// needs; transport.Slack() and transport.GraphQL() are ready-made.
func WithRejection(fn func(resp *http.Response, body func() []byte) bool) Option {
	return func(s *settings) { s.isRejection = fn }
}

// WithRetryPolicy sets which transient failures are retried and how long to
// wait; see transport.RetryPolicy. The default is its zero value: up to 4
// attempts for connection errors, 429, 502, 503 and 504.
func WithRetryPolicy(p transport.RetryPolicy) Option {
	return func(s *settings) {
		if p.MinWait < 0 || p.MaxWait < 0 || p.MaxAttempts < 0 {
			s.fail("WithRetryPolicy: negative MaxAttempts, MinWait or MaxWait")
		}
		s.retry = p
	}
}

// WithoutRetries sends each request once (the invalid-key replay aside).
func WithoutRetries() Option {
	return func(s *settings) { s.retry.MaxAttempts = 1 }
}

// WithIdempotencyKeys gives every POST without an Idempotency-Key header a
// random one, set by [Client.NewRequest] (so the caller can see it and
// reuse it) or else by the retry layer, so that POSTs are retried like GETs.
// Use it only with APIs that honour the header, as payment APIs do.
func WithIdempotencyKeys() Option {
	return func(s *settings) { s.idempotencyKeys = true }
}

// WithLogger logs key rejections, refreshes, replays and retries to l (see
// [Hooks] for the events). Nothing logged contains a key. The default is not
// to log.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.logger = l }
}

// WithHooks sets callbacks for key rejections, refreshes, replays and
// retries, for metrics. A later WithHooks replaces an earlier one.
func WithHooks(h Hooks) Option {
	return func(s *settings) { s.hooks = h }
}

// WithUserAgent sets the User-Agent header of requests made with
// [Client.NewRequest]. The default is [DefaultUserAgent].
func WithUserAgent(ua string) Option {
	return func(s *settings) { s.userAgent = ua }
}

// WithTimeout bounds each call of [Client.Do], retries and waits included
// (http.Client.Timeout). Zero, the default, means no limit beyond the
// request's context.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d < 0 {
			s.fail("WithTimeout(%v): negative timeout", d)
		}
		s.timeout = d
	}
}

// WithExpiryWindow sets how long before a key's known expiry the Client
// starts refreshing it in the background (jittered, see
// credentials.Cache.ExpiryWindow), while the current key keeps serving
// requests. Negative disables refreshing ahead.
func WithExpiryWindow(d time.Duration) Option {
	return func(s *settings) { s.expiryWindow = d }
}

// WithCooldown sets how long a failed refresh is reported to later callers
// without calling the refresh hook again (see credentials.Cache.Cooldown).
// The default is credentials.DefaultCooldown (1s); negative disables it. A
// key that the API rejected right after a refresh produced it has a
// cooldown of its own: see [WithRejectedKeyCooldown]. It does not apply to
// a *credentials.Cache passed to [WithCredentials]: set its Cooldown field.
func WithCooldown(d time.Duration) Option {
	return func(s *settings) { s.cooldown = d }
}

// WithRejectedKeyCooldown sets how long a key that the API rejected right
// after the refresh that produced it stops further refreshes (see
// credentials.Cache.RejectedKeyCooldown): requests rejected with that key
// fail at once with an error matching both [ErrInvalidAPIKey] and
// credentials.ErrRefreshedKeyRejected, without calling the refresh hook. The
// default, credentials.DefaultRejectedKeyCooldown (10s), outlasts the
// default retries of the common vendor SDKs in error mode, so that a failed
// recovery calls the hook once; make it longer if you raise their retries.
// The price: a key revoked by a rotation in the moment between its refresh
// and the replay stops refreshes for as long (or until it expires), so keep
// it well under the interval at which your keys are rotated. Negative means the [WithCooldown] value. It
// does not apply to a *credentials.Cache passed to [WithCredentials]: set its
// RejectedKeyCooldown field.
func WithRejectedKeyCooldown(d time.Duration) Option {
	return func(s *settings) { s.rejectedKeyCooldown = d }
}

// WithReturnResponse makes the *http.Client of [Client.HTTPClient] return an
// invalid-key rejection that recovery could not fix as the API's own
// response (status, headers and whole body), with a nil error, instead of a
// *[APIError] (see transport.Transport.ReturnResponse). Use it when handing
// that client to a vendor SDK: the SDK then decodes the 401 into its own
// typed error, as it does without rekey, and does not retry it. Hooks and
// logs still report the failed recovery. [Client.Do] is not affected: it
// keeps returning an *APIError matching [ErrInvalidAPIKey].
func WithReturnResponse() Option {
	return func(s *settings) { s.returnResponse = true }
}

// check reports the options' errors and conflicts.
func (s *settings) check() error {
	if s.provider == nil && s.refresh == nil {
		s.errs = append(s.errs, fmt.Errorf("rekey: NewClient needs a source of API keys: pass rekey.WithCredentials (for example credentials.Env(\"API_KEY\")) or rekey.WithRefresh: %w", ErrNoCredentials))
	}
	if _, isCache := s.provider.(*credentials.Cache); isCache && s.refresh != nil {
		s.fail("WithCredentials got a *credentials.Cache and WithRefresh a hook: set Refresh on the Cache instead")
	}
	if p, isPool := s.provider.(*credentials.Pool); isPool {
		switch {
		case p == nil:
			s.fail("WithCredentials got a nil *credentials.Pool: make one with credentials.NewPool")
		case p.Err() != nil:
			s.errs = append(s.errs, fmt.Errorf("rekey: WithCredentials: %w", p.Err()))
		case s.refresh != nil:
			s.fail("WithCredentials got a *credentials.Pool and WithRefresh a hook: give a member its own refresh with a *credentials.Cache{Provider: ..., Refresh: ...} as its provider")
		}
	}
	if s.base != nil && s.httpClient != nil && s.httpClient.Transport != nil {
		s.fail("both WithTransport and WithHTTPClient set a transport: use one")
	}
	if s.header != "" && s.query != "" {
		s.fail("both WithHeader and WithQueryParam place the key: use one")
	}
	if s.basic != nil && (s.header != "" || s.scheme != "" || s.query != "") {
		s.fail("WithBasicAuth places the key in Authorization: Basic; drop WithHeader, WithScheme and WithQueryParam")
	}
	return errors.Join(s.errs...)
}
