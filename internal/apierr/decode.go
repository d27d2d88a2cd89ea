package apierr

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxField bounds how much of a server-supplied string an APIError keeps.
const maxField = 512

// Decode builds an APIError from a response's status, header and (already
// bounded) body. It reads the error by its structure and the names of its
// fields, not by which API sent it:
//
//   - JSON: the error object is found wherever it is: at the top level,
//     under "error", "fault" or "detail", first in "errors" or in a
//     top-level list, one level of wrapping deep or more ({"error":
//     {"errors": [...]}}). Its message, code and request ID are taken from
//     the members whose names say so, the most specific first:
//     error_description before message before detail; code and error_code
//     before a type, category, status or reason; a sentence alone in
//     "error" is the message and an identifier there is the code. The
//     standards come first: RFC 9457 problem details (title, detail),
//     RFC 6749 OAuth errors (error, error_description), google.rpc.Status
//     with its google.rpc.ErrorInfo and RequestInfo details, JSON:API and
//     GraphQL error lists (errors[].extensions.code), "__type" of the JSON
//     1.x protocols.
//   - XML error documents: <Error><Code/><Message/><RequestId/></Error>,
//     wherever the elements are.
//   - HTML error pages: the page's title (less the status it repeats).
//   - Any other text: the text as it is.
//
// A numeric code that only repeats the status is left out. When the body
// names no code or message, the WWW-Authenticate header's error and
// error_description (RFC 6750) are used. The request ID comes from any
// response header whose name ends in Request-Id, Correlation-Id, Trace-Id,
// Debug-Id, Transaction-Id or Uuid (see requestIDFromHeader), then from
// the body, then from a CDN's own ID (Cf-Ray, X-Amz-Cf-Id).
//
// The work is linear in the size of the body, which the caller bounds. It
// never fails and never panics: a malformed body still yields an APIError
// with StatusCode set.
func Decode(status int, header http.Header, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	f := decodeBody(status, header, body)
	e.Code, e.Message = Clean(f.code.value), Clean(f.message.value)
	if e.Code == "" || e.Message == "" {
		code, msg := challenge(header)
		if e.Code == "" {
			e.Code = Clean(code)
		}
		if e.Message == "" {
			e.Message = Clean(msg)
		}
	}
	e.RequestID = requestIDFromHeader(header)
	if e.RequestID == "" {
		e.RequestID = Clean(f.requestID.value)
	}
	if e.RequestID == "" {
		e.RequestID = fallbackRequestID(header)
	}
	return e
}

// decodeBody reads a body by its format: JSON, HTML, XML or text.
func decodeBody(status int, header http.Header, body []byte) found {
	b := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\ufeff")))
	if len(b) == 0 {
		return emptyFound()
	}
	switch {
	case b[0] == '{' || b[0] == '[' || b[0] == '"':
		if f, ok := decodeJSON(b, status); ok {
			return f
		}
	case isHTML(header, b):
		return decodeHTML(b, status)
	case b[0] == '<':
		return decodeXML(b, status)
	}
	f := emptyFound()
	if looksLikeText(b) {
		f.message.offer(string(b), rankMessage)
	}
	return f
}

// looksLikeText reports whether a body that is neither JSON nor markup is
// human text worth quoting (not binary).
func looksLikeText(b []byte) bool {
	return utf8.Valid(b) && !bytes.ContainsRune(b, 0)
}

// Clean makes server-supplied text safe to embed in an error string: valid
// UTF-8, no control characters, runs of spaces folded, at most 512 bytes.
// grpcrekey cleans a gRPC status's message and details with it.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxField {
		cut := maxField
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Scrub removes every occurrence of key from the text fields of e, in case
// the server echoed the key back in its message.
func (e *APIError) Scrub(key string) {
	if key == "" {
		return
	}
	e.Code = strings.ReplaceAll(e.Code, key, "[REDACTED]")
	e.Message = strings.ReplaceAll(e.Message, key, "[REDACTED]")
	e.RequestID = strings.ReplaceAll(e.RequestID, key, "[REDACTED]")
}

// RequestURL renders u for an error message: scheme, host and path only, so
// that neither a query parameter nor user information (either of which may
// carry a key) is printed.
func RequestURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}
