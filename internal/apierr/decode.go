package apierr

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxField bounds how much of a server-supplied string an APIError keeps.
const maxField = 512

// requestIDHeaders are the response headers that carry a request ID, in the
// order they are tried. Each is documented by, or reported from, an API in
// the corpus in testdata/rejections: X-Request-Id (OpenAI, Shopify),
// Request-Id (Stripe, Anthropic), X-GitHub-Request-Id (GitHub),
// X-Amzn-RequestId (AWS API Gateway), X-Amz-Request-Id (AWS S3),
// X-Cloud-Request-Id (Elastic Cloud); X-Correlation-Id and X-Trace-Id are
// common conventions. Cf-Ray, which Cloudflare adds to every response it
// proxies, is tried last, after the body's own request ID fields.
var requestIDHeaders = []string{
	"X-Request-Id", "Request-Id", "X-Github-Request-Id", "X-Amzn-Requestid",
	"X-Amz-Request-Id", "X-Cloud-Request-Id", "X-Correlation-Id", "X-Trace-Id",
}

// lastResortIDHeader is tried when neither a vendor header nor the body
// carries a request ID.
const lastResortIDHeader = "Cf-Ray"

// Field names, lowercase (the decoder matches JSON names without regard to
// case, so Postmark's "ErrorCode" is "errorcode").
var (
	codeFields      = []string{"code", "error_code", "errorcode", "title", "type", "category"}
	messageFields   = []string{"message", "error_description", "detail", "description", "reason", "error_message", "msg"}
	requestIDFields = []string{"request_id", "requestid", "correlationid", "correlation_id"}
)

// maxDepth bounds how deeply the decoder follows nested "error" objects.
const maxDepth = 8

// Decode builds an APIError from a response's status, header and (already
// bounded) body. It accepts the shapes of error bodies of the APIs in the
// corpus (internal/apierr/testdata/rejections), among them:
//
//	{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}
//	{"error": {"message": "...", "code": "...", "type": "..."}, "request_id": "..."}
//	{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}
//	{"error": {"type": "security_exception", "reason": "..."}}
//	{"message": "...", "code": 20003}, {"ErrorCode": 10, "Message": "..."}
//	{"id": "unauthorized", "message": "..."}
//	{"error": "invalid_token", "error_description": "..."}
//	{"title": "...", "detail": "..."}
//	{"errors": [{"message": "...", "code": 9109}]}, {"errors": ["Forbidden"]}, {"errors": "..."}
//	{"ok": false, "error": "token_revoked"}, {"ok": false, "description": "Unauthorized"}
//	{"status": "error", "message": "...", "correlationId": "...", "category": "EXPIRED_AUTHENTICATION"}
//
// Code is the error code: a string or number field (code, error_code,
// ErrorCode, title, type, category, a string "error"), Google's
// details[].reason when an ErrorInfo is present, an UPPER_CASE "status", or
// an "id" when there is nothing else. A numeric code that only repeats the
// HTTP status is left out. Message comes from message, error_description,
// detail, description, reason, error_message or msg, or the first of an
// "errors" list; failing that, from a short plain-text body. RequestID comes
// from the first vendor header present, then from the body (request_id,
// requestId, correlationId), then from Cf-Ray.
//
// It never fails and never panics: a malformed body still yields an
// APIError with StatusCode set.
func Decode(status int, header http.Header, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	for _, h := range requestIDHeaders {
		if v := header.Get(h); v != "" {
			e.RequestID = clean(v)
			break
		}
	}
	trimmed := bytes.TrimSpace(body)
	decoded := false
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var doc map[string]json.RawMessage
		if json.Unmarshal(trimmed, &doc) == nil {
			f := fromObject(lower(doc), status, 0)
			e.Code, e.Message = clean(f.code), clean(f.message)
			if e.RequestID == "" {
				e.RequestID = clean(f.requestID)
			}
			decoded = true
		}
	}
	if !decoded && looksLikeText(trimmed) {
		e.Message = clean(string(trimmed))
	}
	if e.RequestID == "" {
		e.RequestID = clean(header.Get(lastResortIDHeader))
	}
	return e
}

// fields are what the decoder extracts from an error object.
type fields struct{ code, message, requestID string }

// fromObject extracts a code, a message and a request ID from a decoded
// JSON object whose names are lowercase.
func fromObject(doc map[string]json.RawMessage, status, depth int) fields {
	var f fields
	for _, n := range codeFields {
		if c := asCode(doc[n], status); c != "" {
			f.code = c
			break
		}
	}
	if s, ok := asString(doc["status"]); ok && f.code == "" && isUpperIdent(s) {
		f.code = s // Google's "INVALID_ARGUMENT", Maps' "REQUEST_DENIED"
	}
	f.message = firstString(doc, messageFields...)
	f.requestID = firstString(doc, requestIDFields...)

	if raw, ok := doc["error"]; ok {
		if s, ok := asString(raw); ok {
			if s != "" {
				f.code = s
			}
		} else if inner, ok := asObject(raw); ok && depth < maxDepth {
			in := fromObject(inner, status, depth+1)
			f.code = or(in.code, f.code)
			f.message = or(in.message, f.message)
			f.requestID = or(f.requestID, in.requestID)
		}
	}
	if reason := errorInfoReason(doc["details"]); reason != "" {
		f.code = reason
	}
	if f.message == "" {
		c, m := fromErrors(doc["errors"], status, depth)
		f.message = m
		f.code = or(f.code, c)
	}
	if f.code == "" {
		f.code, _ = asString(doc["id"])
	}
	return f
}

// fromErrors reads an "errors" member: a string, a list of strings, or a
// list of objects (the first is used).
func fromErrors(raw json.RawMessage, status, depth int) (code, msg string) {
	if s, ok := asString(raw); ok {
		return "", s
	}
	var list []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return "", ""
	}
	if s, ok := asString(list[0]); ok {
		return "", s
	}
	if obj, ok := asObject(list[0]); ok && depth < maxDepth {
		f := fromObject(obj, status, depth+1)
		return f.code, f.message
	}
	return "", ""
}

// errorInfoReason returns the reason of the first google.rpc.ErrorInfo in a
// Google-style "details" list, or "".
func errorInfoReason(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '[' {
		return ""
	}
	var details []map[string]json.RawMessage
	if json.Unmarshal(raw, &details) != nil {
		return ""
	}
	for _, d := range details {
		t, _ := asString(d["@type"])
		if strings.HasSuffix(t, "google.rpc.ErrorInfo") {
			if r, ok := asString(d["reason"]); ok && r != "" {
				return r
			}
		}
	}
	return ""
}

// asCode reads a code: a non-empty string, or an integer that is not just
// the HTTP status again.
func asCode(raw json.RawMessage, status int) string {
	if s, ok := asString(raw); ok {
		return s
	}
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return ""
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n == int64(status) {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func asObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, false
	}
	return lower(obj), true
}

// lower returns doc with lowercase names. Of names that differ only in
// case, the lowercase one wins, then the first in lexical order.
func lower(doc map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(doc))
	var mixed []string
	for k, v := range doc {
		if l := strings.ToLower(k); l == k {
			out[k] = v
		} else {
			mixed = append(mixed, k)
		}
	}
	slices.Sort(mixed)
	for _, k := range mixed {
		if l := strings.ToLower(k); out[l] == nil {
			out[l] = doc[k]
		}
	}
	return out
}

// isUpperIdent reports whether s looks like an enum value: UPPER_CASE.
func isUpperIdent(s string) bool {
	if len(s) < 2 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r == '_') {
			return false
		}
	}
	return true
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstString(doc map[string]json.RawMessage, names ...string) string {
	for _, n := range names {
		if s, ok := asString(doc[n]); ok && s != "" {
			return s
		}
	}
	return ""
}

func asString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// looksLikeText reports whether a non-JSON body is short human text worth
// quoting (not HTML, not binary).
func looksLikeText(b []byte) bool {
	if len(b) == 0 || b[0] == '<' || !utf8.Valid(b) {
		return false
	}
	return !bytes.ContainsRune(b, 0)
}

// clean makes server-supplied text safe to embed in an error string: valid
// UTF-8, no control characters, bounded length.
func clean(s string) string {
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
