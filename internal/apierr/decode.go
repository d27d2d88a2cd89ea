package apierr

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxField bounds how much of a server-supplied string an APIError keeps.
const maxField = 512

// requestIDHeaders are the headers APIs commonly use for a request ID, most
// common first.
var requestIDHeaders = []string{
	"X-Request-Id", "Request-Id", "X-Amzn-Requestid", "X-Amz-Request-Id",
	"X-Correlation-Id", "X-Trace-Id", "Cf-Ray",
}

// Decode builds an APIError from a response's status, header and (already
// bounded) body. It accepts the usual shapes of error bodies:
//
//	{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}
//	{"error": {"message": "...", "code": "...", "type": "..."}}
//	{"message": "...", "code": "..."}
//	{"error": "invalid_token", "error_description": "..."}
//	{"title": "...", "detail": "..."}
//	{"errors": [{"message": "..."}]}
//
// and falls back to a short plain-text body, then to the status text. It
// never fails: a malformed body still yields an APIError with StatusCode set.
func Decode(status int, header http.Header, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	for _, h := range requestIDHeaders {
		if v := header.Get(h); v != "" {
			e.RequestID = clean(v)
			break
		}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var doc map[string]json.RawMessage
		if json.Unmarshal(trimmed, &doc) == nil {
			e.Code, e.Message = fromObject(doc)
			e.Code, e.Message = clean(e.Code), clean(e.Message)
			return e
		}
	}
	if looksLikeText(trimmed) {
		e.Message = clean(string(trimmed))
	}
	return e
}

// fromObject extracts a code and a message from a decoded JSON object.
func fromObject(doc map[string]json.RawMessage) (code, msg string) {
	code = firstString(doc, "code", "title", "type")
	msg = firstString(doc, "message", "error_description", "detail", "msg")
	if raw, ok := doc["error"]; ok {
		if s, ok := asString(raw); ok {
			code = s
		} else {
			var inner map[string]json.RawMessage
			if json.Unmarshal(raw, &inner) == nil {
				c, m := fromObject(inner)
				if c != "" {
					code = c
				}
				if m != "" {
					msg = m
				}
			}
		}
	}
	if msg == "" {
		if raw, ok := doc["errors"]; ok {
			var list []map[string]json.RawMessage
			if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
				c, m := fromObject(list[0])
				if code == "" {
					code = c
				}
				msg = m
			}
		}
	}
	return code, msg
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
