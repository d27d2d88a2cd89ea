package apierr

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// ErrConnection is matched by a *ConnectionError. See rekey.ErrConnection.
var ErrConnection = errors.New("rekey: connection failed")

// ConnectionError is a request whose connection failed before its whole
// response arrived. See rekey.ConnectionError.
type ConnectionError struct {
	// Method and URL identify the request. URL carries no query string and
	// no user information.
	Method string
	URL    string
	// StatusCode is the status of the response whose body was cut off, or
	// 0 when the connection failed before a status arrived. Non-zero means
	// the API received the request and answered it: a POST was performed.
	StatusCode int
	// NotRetried, when not empty, says why the request was not retried
	// (for example, a POST without an Idempotency-Key).
	NotRetried string
	// Err is what the network layer reported: a *net.OpError, io.EOF,
	// io.ErrUnexpectedEOF, syscall.ECONNRESET, ...; errors.Is and errors.As
	// see through to it.
	Err error
}

// Error says which request failed, at which stage, why, and what rekey did
// about it; net/http's bare "EOF" becomes a sentence.
func (e *ConnectionError) Error() string {
	msg := "rekey: " + e.Method + " " + e.URL + ": " + ConnectionCause(e)
	if e.NotRetried != "" {
		msg += "; not retried: " + e.NotRetried
	}
	return msg
}

// ConnectionCause says what happened to e's connection, without naming the
// request, for an error that names it already (a RetryError).
func ConnectionCause(e *ConnectionError) string {
	if e.StatusCode != 0 {
		return "the connection failed while reading the response (status " + strconv.Itoa(e.StatusCode) +
			": the API received the request): " + causeString(e.Err)
	}
	return DescribeConnectionFailure(e.Err)
}

// DescribeConnectionFailure turns the network layer's terse errors into
// what happened to a request that got no response.
func DescribeConnectionFailure(err error) string {
	s := causeString(err)
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset before a response arrived (" + s + ")"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection without a response (" + s + ")"
	}
	return "the connection failed before a response arrived: " + s
}

// causeString is err's text, or "unknown cause" for nil.
func causeString(err error) string {
	if err == nil {
		return "unknown cause"
	}
	return err.Error()
}

// Is makes errors.Is match ErrConnection.
func (e *ConnectionError) Is(target error) bool { return target == ErrConnection }

// Unwrap returns what the network layer reported.
func (e *ConnectionError) Unwrap() error { return e.Err }

// Timeout reports whether the cause is a timeout (a net.Error whose
// Timeout is true), so that *url.Error's Timeout, which looks only one
// level down, still answers for a wrapped network error.
func (e *ConnectionError) Timeout() bool {
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// IsConnectionFailure reports whether err says that a connection failed:
// a network error, a reset, a connection closed early (io.EOF,
// io.ErrUnexpectedEOF), or one net/http reports as broken or closed. It does
// not judge whether retrying may help (a DNS or certificate failure is a
// connection failure too). A context's end is not a connection failure,
// though context.DeadlineExceeded is a net.Error.
func IsConnectionFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	// net/http's own, untyped: a connection that closed while idle, and
	// one that broke mid-response (a response header cut mid-line reads
	// as "malformed MIME header" inside this one).
	s := err.Error()
	return strings.Contains(s, "server closed idle connection") ||
		strings.Contains(s, "HTTP/1.x transport connection broken")
}
