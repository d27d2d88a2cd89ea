package transport

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// Defaults for the zero value of [RetryPolicy].
const (
	DefaultMaxAttempts   = 4
	DefaultMinWait       = 250 * time.Millisecond
	DefaultMaxWait       = 8 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
)

// IdempotencyKeyHeader is the request header that makes a POST or PATCH
// safe to retry: the server performs a request with a given key at most once.
const IdempotencyKeyHeader = "Idempotency-Key"

// defaultStatuses are the responses retried when RetryPolicy.Statuses is nil.
var defaultStatuses = []int{
	http.StatusTooManyRequests,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// RetryPolicy says which failures [Retry] retries and how long it waits.
//
// Retried: connection failures (refused, reset, closed early, timed out) and
// the responses in Statuses, for requests that are safe to repeat: GET, HEAD,
// PUT, DELETE, OPTIONS and TRACE always, POST and PATCH only when they carry
// an [IdempotencyKeyHeader]. A request whose body cannot be re-read (a Body
// without GetBody) is sent once.
//
// Never retried: the invalid-key rejection (the [Transport] has already
// refreshed the key and replayed the request once), any other error from the
// credential layer (malformed key, no key, refused insecure request, a
// failed refresh), a TLS certificate error, a cancelled or expired context,
// and every 4xx response other than 429.
//
// The zero value is the default policy.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts per request, the first one included.
	// Zero means DefaultMaxAttempts; 1 disables retries.
	MaxAttempts int

	// MinWait and MaxWait bound the jittered exponential backoff: before the
	// n-th retry, Retry waits a random duration between half and all of
	// min(MinWait·2ⁿ⁻¹, MaxWait). Zero means DefaultMinWait, DefaultMaxWait.
	MinWait, MaxWait time.Duration

	// MaxRetryAfter caps how long a response's Retry-After header (seconds or
	// an HTTP date) may make Retry wait. A response asking for longer is not
	// retried but returned at once: retrying sooner than the server asked
	// would only be refused again. Zero means DefaultMaxRetryAfter; negative
	// ignores Retry-After and always uses the backoff.
	MaxRetryAfter time.Duration

	// Statuses lists the response status codes that are retried. nil means
	// 429, 502, 503 and 504.
	Statuses []int

	// IdempotencyKeys adds a random [IdempotencyKeyHeader] to every POST that
	// has none, as payment APIs expect, so that POSTs are retried too. The
	// key stays the same across the retries of one request. Enable it only
	// for APIs that honour the header.
	IdempotencyKeys bool
}

func (p *RetryPolicy) attempts() int {
	if p.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return p.MaxAttempts
}

// notRepeatable says why req may not be sent more than once, or repeatable
// if it may. It allocates nothing: it runs for every request, and the
// reason is put in words only for a [ConnectionError].
func (p *RetryPolicy) notRepeatable(req *http.Request) onceReason {
	if p.attempts() <= 1 {
		return retriesOff
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return bodyReadOnce
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodTrace:
		return repeatable
	case http.MethodPost, http.MethodPatch:
		if req.Header.Get(IdempotencyKeyHeader) != "" {
			return repeatable
		}
		return noIdempotencyKey
	}
	return notIdempotent
}

// onceReason is why a request is sent only once.
type onceReason uint8

const (
	repeatable       onceReason = iota // it may be sent again
	retriesOff                         // RetryPolicy.MaxAttempts is 1
	bodyReadOnce                       // its body cannot be re-read
	noIdempotencyKey                   // a POST or PATCH without an Idempotency-Key
	notIdempotent                      // another method that is not idempotent
)

// explain puts r in words for a request whose method is method, for a
// [ConnectionError].
func (r onceReason) explain(method string) string {
	switch r {
	case retriesOff:
		return "retries are off (RetryPolicy.MaxAttempts is 1)"
	case bodyReadOnce:
		return "its body cannot be re-read (no Request.GetBody)"
	case noIdempotencyKey:
		return "a " + method + " without an " + IdempotencyKeyHeader + " header may have been performed; send it again only if doing it twice is safe"
	case notIdempotent:
		return method + " is not idempotent"
	}
	return ""
}

// retry decides whether the outcome of one attempt is worth another.
func (p *RetryPolicy) retry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return transient(err)
	}
	if !p.retriedStatus(resp.StatusCode) {
		return false
	}
	if d, ok := p.retryAfter(resp); ok && p.MaxRetryAfter >= 0 && d > p.maxRetryAfter() {
		return false // the server asked for more patience than we have
	}
	return true
}

func (p *RetryPolicy) retriedStatus(code int) bool {
	statuses := p.Statuses
	if statuses == nil {
		statuses = defaultStatuses
	}
	for _, s := range statuses {
		if s == code {
			return true
		}
	}
	return false
}

// transient reports whether err is a connection failure worth retrying.
func transient(err error) bool {
	switch {
	case errors.Is(err, apierr.ErrInvalidAPIKey),
		errors.Is(err, apierr.ErrInsecureRequest),
		errors.Is(err, apierr.ErrRefreshFailed),
		errors.Is(err, credentials.ErrMalformedKey),
		errors.Is(err, credentials.ErrNoCredentials),
		errors.Is(err, credentials.ErrCacheClosed),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return false
	}
	var apiErr *apierr.APIError
	var credErr *CredentialError
	if errors.As(err, &apiErr) || errors.As(err, &credErr) {
		return false // the credential layer has already retried what it could
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	if isCertError(err) {
		return false
	}
	return apierr.IsConnectionFailure(err)
}

// isCertError reports whether err is a TLS certificate failure, which no
// retry fixes.
func isCertError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "x509: ") || strings.Contains(s, "tls: failed to verify certificate")
}

// wait returns how long to wait before retry number n (1 for the first).
func (p *RetryPolicy) wait(n int, resp *http.Response) time.Duration {
	if resp != nil && p.MaxRetryAfter >= 0 {
		if d, ok := p.retryAfter(resp); ok && d <= p.maxRetryAfter() {
			return d
		}
	}
	lo, hi := p.MinWait, p.MaxWait
	if lo <= 0 {
		lo = DefaultMinWait
	}
	if hi <= 0 {
		hi = DefaultMaxWait
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

func (p *RetryPolicy) maxRetryAfter() time.Duration {
	if p.MaxRetryAfter == 0 {
		return DefaultMaxRetryAfter
	}
	return p.MaxRetryAfter
}

// retryAfter parses resp's Retry-After header: delay-seconds or an HTTP
// date (a date in the past means now).
func (p *RetryPolicy) retryAfter(resp *http.Response) (time.Duration, bool) {
	return retryAfter(resp)
}

// retryAfter parses resp's Retry-After header, capped at a day.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second) // no overflow; surely over the cap
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(time.Until(t), 0), true
}

// NewIdempotencyKey returns a random version 4 UUID for the
// [IdempotencyKeyHeader].
func NewIdempotencyKey() string {
	var u [16]byte
	crand.Read(u[:]) //nolint:errcheck // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
