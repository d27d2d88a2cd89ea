package rekey

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/transport"
)

// maxErrorBody bounds how much of an error response Do reads.
const maxErrorBody = transport.DefaultMaxErrorBody

// drainLimit bounds how much of an unread body Do reads before closing it,
// so that a small response leaves its connection reusable.
const drainLimit = 4 << 10

// RetryError is returned when a request was attempted more than once and
// still failed: transient retries ran out, or a retry failed in a way that
// is not retried. Its message says how many attempts were made; errors.Is
// and errors.As see through it to the last cause, for example an *APIError
// matching [ErrServer] or [ErrRateLimited]. It is the same type as
// transport.RetryError.
type RetryError = transport.RetryError

// Do sends req through the Client's stack and handles the response:
//
//   - 2xx: the body is decoded as JSON into v (an empty body leaves v
//     alone), or copied to v if it is an io.Writer, or discarded if v is nil;
//   - any other status: an *[APIError] with the status, the API's error
//     code and message, and the request ID, decoded from the body. It
//     matches [ErrRateLimited] for 429 and [ErrServer] for 5xx;
//   - the invalid-key rejection (after a refresh and a replay, or a failed
//     refresh): an *APIError matching [ErrInvalidAPIKey];
//   - transient failures that outlasted the retries: a *[RetryError]
//     wrapping the last cause (a *[ConnectionError] for a connection
//     failure);
//   - a connection that failed when the request is not retried (a POST
//     without an Idempotency-Key, say), or in the middle of a 2xx
//     response's body: a *[ConnectionError] matching [ErrConnection], which
//     says whether the API received the request.
//
// Errors of rekey's own are returned as they are, not wrapped in
// *url.Error; others (a connection failure, a context's end) keep the
// *url.Error that names the request. errors.Is works with context errors
// either way. The response is returned whenever there is one, with its
// body read and closed.
//
// req should come from [Client.NewRequest]; a request built otherwise is
// sent as it is (and retried only if it has a GetBody or no body).
func (c *Client) Do(req *http.Request, v any) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, ownError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, apierr.FromResponse(req, resp, maxErrorBody)
	}
	switch v := v.(type) {
	case nil:
	case io.Writer:
		if _, err := io.Copy(v, resp.Body); err != nil {
			return resp, bodyError(req, resp, "reading", err)
		}
	default:
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil && err != io.EOF {
			return resp, bodyError(req, resp, "decoding", err)
		}
	}
	drain(resp.Body)
	return resp, nil
}

// bodyError is the error for a 2xx response whose body could not be read
// or decoded: a *ConnectionError when the connection failed mid-body (the
// API did receive the request), else an error that says what went wrong.
func bodyError(req *http.Request, resp *http.Response, doing string, err error) error {
	var ne net.Error
	if apierr.IsConnectionFailure(err) && !(errors.As(err, &ne) && ne.Timeout()) {
		return &ConnectionError{Method: req.Method, URL: apierr.RequestURL(req.URL), StatusCode: resp.StatusCode, Err: err}
	}
	return fmt.Errorf("rekey: %s the response to %s %s: %w", doing, req.Method, apierr.RequestURL(req.URL), err)
}

// limited recycles the io.LimitedReader that drain needs.
var limited = sync.Pool{New: func() any { return new(io.LimitedReader) }}

// drain reads what is left of a body, up to drainLimit, so that its
// connection can be reused.
func drain(body io.Reader) {
	lr := limited.Get().(*io.LimitedReader)
	lr.R, lr.N = body, drainLimit
	io.Copy(io.Discard, lr) //nolint:errcheck // only to reuse the connection
	lr.R = nil
	limited.Put(lr)
}

// ownError returns rekey's own error from inside http.Client's *url.Error,
// where it already names the request; other errors keep their *url.Error.
func ownError(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	var apiErr *APIError
	var retryErr *RetryError
	var credErr *transport.CredentialError // no key: ErrNoCredentials, ErrMalformedKey, ...
	var connErr *ConnectionError
	switch {
	case errors.As(ue.Err, &apiErr), errors.As(ue.Err, &retryErr), errors.As(ue.Err, &credErr), errors.As(ue.Err, &connErr),
		errors.Is(ue.Err, ErrInsecureRequest):
		return ue.Err // it already names the request
	}
	return err
}
