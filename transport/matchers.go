package transport

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// Matcher is the type of [Transport.IsRejection] (and of
// rekey.WithRejection): it reports whether resp is the API's invalid-key
// rejection. body returns the first MaxErrorBody bytes of the response body,
// reading them on its first call; the Transport restores them for a response
// that is passed through. A Matcher sees every response but informational
// (1xx) ones, 2xx included, and must be safe for concurrent use. Call body
// only when the status and headers make a rejection possible: on a 2xx it
// blocks until MaxErrorBody bytes or the end of the body have arrived, which
// for a long stream (Server-Sent Events) can be a while.
//
// The builders below cover the common patterns that the default,
// [IsInvalidKeyRejection], does not; combine them with it through [AnyOf].
// [Slack] and [GraphQL] include the default already.
type Matcher = func(resp *http.Response, body func() []byte) bool

// AnyOf returns a Matcher that recognises a response if any of ms does,
// trying them in order. The body is read at most once for all of them.
//
//	t.IsRejection = transport.AnyOf(transport.IsInvalidKeyRejection,
//		transport.StatusHeader(403, "X-Amzn-Errortype", "ForbiddenException"))
func AnyOf(ms ...Matcher) Matcher {
	ms = slices.Clone(ms)
	return func(resp *http.Response, body func() []byte) bool {
		for _, m := range ms {
			if m != nil && m(resp, body) {
				return true
			}
		}
		return false
	}
}

// SlackCodes are the "error" codes with which Slack's Web API reports, in a
// 200 {"ok": false, ...} response, that a token is invalid, expired or
// revoked, or that its user or workspace is gone: invalid_auth,
// not_authed, token_revoked, token_expired and account_inactive. Other
// codes, such as missing_scope, are not key rejections.
var SlackCodes = []string{"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}

// Slack returns the Matcher for Slack's Web API: the default for 4xx, plus
// OKFalse(SlackCodes...) for its 200 {"ok": false, "error": "token_revoked"}.
//
//	client, err := rekey.NewClient("https://slack.com/api", rekey.WithRejection(transport.Slack()), ...)
func Slack() Matcher {
	return AnyOf(IsInvalidKeyRejection, OKFalse(SlackCodes...))
}

// OKFalse returns a Matcher for APIs that answer every request with a 2xx
// and say in the body whether it worked, as Slack does: it recognises a 2xx
// JSON response whose body is an object with "ok": false and an "error"
// equal to one of codes. Responses with another code (Slack's
// missing_scope), or not JSON by their Content-Type (an event stream), are
// not read past their headers and pass through. With no codes it
// recognises nothing.
func OKFalse(codes ...string) Matcher {
	codes = slices.Clone(codes)
	return func(resp *http.Response, body func() []byte) bool {
		if len(codes) == 0 || resp.StatusCode < 200 || resp.StatusCode > 299 || !isJSON(resp.Header) {
			return false
		}
		b := body()
		if !bytes.Contains(b, []byte(`"ok"`)) || !bytes.Contains(b, []byte("false")) {
			return false // a success, without parsing it
		}
		var v struct {
			OK    *bool  `json:"ok"`
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &v) != nil || v.OK == nil || *v.OK {
			return false
		}
		return slices.Contains(codes, v.Error)
	}
}

// GraphQL returns the Matcher for GraphQL APIs, which answer a rejected
// token with 200 and an errors list (the GraphQL-over-HTTP convention):
// the default for 4xx, plus a 2xx JSON response whose "errors" hold an
// error with extensions.code UNAUTHENTICATED (the code Apollo Server and
// others use for a missing, invalid or expired credential), or whose first
// error's code and message say the key is invalid, expired or revoked
// (and nothing about scope or permission; see IsInvalidKeyRejection). A
// FORBIDDEN or INSUFFICIENT_SCOPES error is not a key rejection and passes
// through. A response without "errors", or not JSON by its Content-Type,
// is not parsed.
//
//	client, err := rekey.NewClient("https://api.example.com/graphql", rekey.WithRejection(transport.GraphQL()), ...)
func GraphQL() Matcher {
	return AnyOf(IsInvalidKeyRejection, graphQLUnauthenticated)
}

func graphQLUnauthenticated(resp *http.Response, body func() []byte) bool {
	if resp.StatusCode < 200 || resp.StatusCode > 299 || !isJSON(resp.Header) {
		return false
	}
	b := body()
	if !bytes.Contains(b, []byte(`"errors"`)) {
		return false // a success, without parsing it
	}
	var v struct {
		Errors []struct {
			Extensions struct {
				Code any `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &v) != nil || len(v.Errors) == 0 {
		return false
	}
	for _, e := range v.Errors {
		if c, ok := e.Extensions.Code.(string); ok && strings.EqualFold(c, "UNAUTHENTICATED") {
			return true
		}
	}
	e := apierr.Decode(resp.StatusCode, resp.Header, b)
	rejection, _ := apierr.Classify(false, e.Code, e.Message)
	return rejection
}

// StatusHeader returns a Matcher that recognises a response with the given
// status whose header name has exactly the given value (or, with value "",
// any value). It reads no body. For AWS API Gateway, which answers a
// missing or invalid API key with 403 {"message":"Forbidden"} and
// "x-amzn-ErrorType: ForbiddenException" (and a wrong path with
// MissingAuthenticationTokenException, which must not match):
//
//	transport.AnyOf(transport.IsInvalidKeyRejection,
//		transport.StatusHeader(403, "X-Amzn-Errortype", "ForbiddenException"))
func StatusHeader(status int, name, value string) Matcher {
	return func(resp *http.Response, _ func() []byte) bool {
		if resp.StatusCode != status {
			return false
		}
		vv := resp.Header.Values(name)
		if value == "" {
			return len(vv) > 0
		}
		return slices.Contains(vv, value)
	}
}

// StatusBody returns a Matcher that recognises a response with the given
// status whose body (its first MaxErrorBody bytes) contains text, byte for
// byte. It is the one-line matcher for a rejection that only its wording
// identifies, such as etcd's 400 "etcdserver: revision of auth store is
// old", or the Google Maps web services' 200 {"status": "REQUEST_DENIED",
// "error_message": "The provided API key is expired."}:
//
//	transport.AnyOf(transport.IsInvalidKeyRejection,
//		transport.StatusBody(200, "The provided API key is invalid."),
//		transport.StatusBody(200, "The provided API key is expired."))
//
// With a 2xx status it reads the body of every such response (not of an
// event stream): prefer OKFalse or StatusHeader where they apply.
func StatusBody(status int, text string) Matcher {
	want := []byte(text)
	return func(resp *http.Response, body func() []byte) bool {
		if resp.StatusCode != status || len(want) == 0 {
			return false
		}
		if status < 300 && isEventStream(resp.Header) {
			return false
		}
		return bytes.Contains(body(), want)
	}
}

// isJSON reports whether h declares a JSON body (application/json or
// application/*+json), or declares no type at all.
func isJSON(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}
