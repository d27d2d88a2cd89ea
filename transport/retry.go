package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// Retry is an http.RoundTripper that retries transient failures (connection
// errors and the responses 429, 502, 503, 504) with jittered exponential
// backoff, honouring Retry-After, as its [RetryPolicy] says. The first
// attempt goes straight to Base; after the first wait, the retries run in
// the retry loop of github.com/hashicorp/go-retryablehttp with rekey's own
// policy, backoff and error handling, and with that library's logging off
// (it prints URLs, whose query may carry a key).
//
// Put it outside the credential layer, so that every attempt goes through the
// [Transport] and re-reads the current key:
//
//	&http.Client{Transport: &transport.Retry{Base: &transport.Transport{...}}}
//
// An invalid-key rejection is never retried here: the Transport has already
// refreshed the key and replayed the request once. Request bodies are re-read
// through Request.GetBody for each retry. Redirects are left to the
// http.Client around Retry, so each hop is retried on its own and the
// Transport sees Request.Response on hops.
//
// When retries run out, or a retry fails for a reason that is not retried,
// RoundTrip returns a *[RetryError] that says how many attempts were made and
// wraps the last cause (for a response, an *APIError decoded from it, whose
// body RoundTrip has closed; for a connection failure, a *[ConnectionError]),
// so errors.Is and errors.As see the cause. A request that succeeds, or
// fails on its first attempt, is returned as the Base returned it, but for
// one case: a connection failure of a request that is not retried (a POST
// without an Idempotency-Key, a body that cannot be re-read, retries off)
// comes as a *[ConnectionError] that says why it was not retried, for the
// API may have performed it. While waiting, RoundTrip returns the context's error as
// soon as the request's context ends.
//
// Set the fields before first use and do not change them afterwards. Retry
// is safe for concurrent use and must not be copied after first use.
type Retry struct {
	// Base makes each attempt. nil means http.DefaultTransport.
	Base http.RoundTripper

	// Policy says what is retried and how long to wait. The zero value is
	// the default policy.
	Policy RetryPolicy

	// OnRetry, if set, is told about each retry before its wait. It must be
	// fast and must not block.
	OnRetry func(RetryEvent)

	once  sync.Once
	inner *http.Client // Base for go-retryablehttp, which needs an *http.Client
	pool  sync.Pool    // of *retrier
}

// RetryEvent reports a retry that is about to happen. It carries no key and
// no query string.
type RetryEvent struct {
	Method     string
	URL        string        // scheme, host and path only
	Attempt    int           // the attempt that failed: 1 for the first
	Wait       time.Duration // how long Retry waits before the next attempt
	StatusCode int           // the failed attempt's status; 0 for a connection error
	Err        error         // the connection error; nil for a status

	// Context is the context of the request being retried, so that a
	// tracer can put the retry on the request's span. Retry always sets it.
	Context context.Context
}

// RetryError is returned when a request was attempted more than once and
// still failed: retries ran out, or the last attempt failed in a way that is
// not retried (for example, the invalid-key rejection). Err is the last
// attempt's error, or an *APIError decoded from its response; errors.Is and
// errors.As see through to it.
type RetryError struct {
	Method   string
	URL      string // scheme, host and path only
	Attempts int    // attempts made, the first included
	Err      error  // the last cause
}

// Error says how many attempts were made, and why the last one failed.
func (e *RetryError) Error() string {
	cause := strings.TrimPrefix(e.Err.Error(), "rekey: ")
	var connErr *ConnectionError
	switch {
	case errors.As(e.Err, &connErr):
		cause = apierr.ConnectionCause(connErr) // without the request, which this error names
	case errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF):
		// net/http's bare EOF for a dropped connection says little by itself.
		cause = apierr.DescribeConnectionFailure(e.Err)
	}
	n := strconv.Itoa(e.Attempts)
	if _, ok := e.Err.(*apierr.APIError); ok {
		return "rekey: gave up after " + n + " attempts: " + cause // the cause names the request
	}
	return "rekey: " + e.Method + " " + e.URL + " failed after " + n + " attempts: " + cause
}

// Unwrap returns the last cause.
func (e *RetryError) Unwrap() error { return e.Err }

// RoundTrip sends req, retrying as described on [Retry]. It does not modify
// req and always closes req.Body.
func (r *Retry) RoundTrip(req *http.Request) (*http.Response, error) {
	r.once.Do(r.setup)
	if r.Policy.IdempotencyKeys && req.Method == http.MethodPost && req.Header.Get(IdempotencyKeyHeader) == "" {
		req = withHeader(req, IdempotencyKeyHeader, NewIdempotencyKey())
	}
	if why := r.Policy.notRepeatable(req); why != repeatable {
		resp, err := r.base().RoundTrip(req)
		if err != nil && transient(err) {
			// Not retried: say so, and why, rather than hand back
			// net/http's bare "EOF".
			err = &ConnectionError{Method: req.Method, URL: apierr.RequestURL(req.URL), NotRetried: why.explain(req.Method), Err: err}
		}
		return resp, err
	}
	// The first attempt goes straight to Base, so that a request that
	// succeeds costs nothing more than Base does.
	resp, err := r.base().RoundTrip(req)
	if !r.Policy.retry(req.Context(), resp, err) {
		return resp, err
	}
	return r.retry(req, resp, err)
}

// retry waits after the failed first attempt, then hands the remaining
// attempts to go-retryablehttp. Their bodies come from req.GetBody.
func (r *Retry) retry(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
	s := r.pool.Get().(*retrier)
	defer r.put(s)
	s.req, s.lastErr = req, err
	wait := s.backoff(0, 0, 0, resp)
	if resp != nil {
		drain(resp.Body)
	}
	timer := time.NewTimer(wait)
	select {
	case <-req.Context().Done():
		timer.Stop()
		return nil, req.Context().Err()
	case <-timer.C:
	}
	s.done = 1

	out := new(http.Request) // go-retryablehttp sets Body on the request it sends
	*out = *req
	rreq := &retryablehttp.Request{Request: out}
	if req.Body != nil && req.Body != http.NoBody {
		if err := rreq.SetBody(s.readBody); err != nil {
			return nil, err
		}
		s.armed = true
		out.GetBody, out.ContentLength = req.GetBody, req.ContentLength // SetBody changed them
	}
	s.client.RetryMax = r.Policy.attempts() - 2
	resp, err = s.client.Do(rreq)
	if err != nil {
		return nil, err // a response returned with an error is already closed
	}
	return resp, nil
}

// drain reads a little of a body, so that its connection can be reused, and
// closes it.
func drain(body io.ReadCloser) {
	io.CopyN(io.Discard, body, 4<<10) //nolint:errcheck // only to reuse the connection
	body.Close()
}

// CloseIdleConnections closes idle connections of Base, if it can.
func (r *Retry) CloseIdleConnections() { closeIdle(r.base()) }

func (r *Retry) base() http.RoundTripper { return orDefault(r.Base) }

func (r *Retry) setup() {
	r.inner = &http.Client{
		// go-retryablehttp closes the client's idle connections after every
		// failed request; hiding CloseIdleConnections keeps one failure
		// from dropping the whole pool's keep-alive connections.
		Transport: roundTripOnly{r.base()},
		// Redirects are for the http.Client around Retry.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	r.pool.New = func() any { return r.newRetrier() }
}

// roundTripOnly hides every method of a RoundTripper but RoundTrip.
type roundTripOnly struct{ rt http.RoundTripper }

func (o roundTripOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	return o.rt.RoundTrip(req)
}

// retrier is the state of one request's retries, and a go-retryablehttp
// client whose callbacks see that state. Retry pools them, so that a request
// costs no allocations for the callbacks.
type retrier struct {
	r        *Retry
	req      *http.Request // as given to RoundTrip
	done     int           // attempts made before go-retryablehttp's loop
	armed    bool          // SetBody has probed readBody
	lastErr  error
	client   retryablehttp.Client
	readBody retryablehttp.ReaderFunc
}

func (r *Retry) newRetrier() *retrier {
	s := &retrier{r: r}
	s.client.HTTPClient = r.inner
	s.client.Logger = nil // it would print URLs, and query strings may carry a key
	s.client.CheckRetry = s.check
	s.client.Backoff = s.backoff
	s.client.ErrorHandler = s.giveUp
	s.readBody = s.nextBody
	return s
}

func (r *Retry) put(s *retrier) {
	s.req, s.lastErr = nil, nil
	s.done, s.armed = 0, false
	r.pool.Put(s)
}

// nextBody gives go-retryablehttp the body for a retry: a fresh copy from
// GetBody (the first attempt used the request's own body).
func (s *retrier) nextBody() (io.Reader, error) {
	if !s.armed {
		return http.NoBody, nil // SetBody's probe for a length
	}
	return s.req.GetBody()
}

func (s *retrier) check(ctx context.Context, resp *http.Response, err error) (bool, error) {
	err = unwrapURLError(err)
	s.lastErr = err
	return s.r.Policy.retry(ctx, resp, err), nil
}

func (s *retrier) backoff(_, _ time.Duration, i int, resp *http.Response) time.Duration {
	n := s.done + i + 1 // the attempt that failed
	d := s.r.Policy.wait(n, resp)
	if s.r.OnRetry != nil {
		ev := RetryEvent{
			Method: s.req.Method, URL: apierr.RequestURL(s.req.URL),
			Attempt: n, Wait: d, Err: s.lastErr,
			Context: s.req.Context(),
		}
		if resp != nil {
			ev.StatusCode = resp.StatusCode
		}
		s.r.OnRetry(ev)
	}
	return d
}

// giveUp is go-retryablehttp's ErrorHandler: it runs for every request that
// did not succeed.
func (s *retrier) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	attempts += s.done
	err = unwrapURLError(err)
	if err != nil && transient(err) {
		err = &ConnectionError{Method: s.req.Method, URL: apierr.RequestURL(s.req.URL), Err: err}
	}
	if resp != nil {
		if err == nil { // retries ran out on a retried status
			err = apierr.FromResponse(s.req, resp, DefaultMaxErrorBody)
		} else {
			resp.Body.Close()
		}
	}
	if attempts <= 1 {
		return nil, err
	}
	return nil, &RetryError{Method: s.req.Method, URL: apierr.RequestURL(s.req.URL), Attempts: attempts, Err: err}
}

// unwrapURLError removes the *url.Error that go-retryablehttp's inner
// http.Client adds, so that the http.Client around Retry does not wrap twice.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// withHeader returns a shallow copy of req with name set to value.
func withHeader(req *http.Request, name, value string) *http.Request {
	r := new(http.Request)
	*r = *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Header.Set(name, value)
	return r
}
