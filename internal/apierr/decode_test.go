package apierr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

func TestDecodeShapes(t *testing.T) {
	long := strings.Repeat("é", 400)
	tests := []struct {
		name             string
		status           int
		header           http.Header
		body             string
		code, msg, reqID string
	}{
		{name: "error and message", status: 401, body: `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`,
			code: "Invalid API Key", msg: "The API key provided is not valid or has expired."},
		{name: "nested error object with request_id outside", status: 401, body: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_1"}`,
			code: "authentication_error", msg: "invalid x-api-key", reqID: "req_1"},
		{name: "code before type", status: 401, body: `{"error":{"message":"m","type":"invalid_request_error","code":"invalid_api_key"}}`,
			code: "invalid_api_key", msg: "m"},
		{name: "google ErrorInfo reason beats status", status: 400, body: `{"error":{"code":400,"message":"m","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.Help"},{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_EXPIRED"}]}}`,
			code: "API_KEY_EXPIRED", msg: "m"},
		{name: "upper-case status as code", status: 429, body: `{"error":{"code":429,"message":"m","status":"RESOURCE_EXHAUSTED"}}`,
			code: "RESOURCE_EXHAUSTED", msg: "m"},
		{name: "lower-case status is not a code", status: 401, body: `{"status":"error","message":"m"}`, msg: "m"},
		{name: "numeric code kept", status: 401, body: `{"code":20003,"message":"Authenticate","status":401}`, code: "20003", msg: "Authenticate"},
		{name: "numeric code repeating the status dropped", status: 401, body: `{"ok":false,"error_code":401,"description":"Unauthorized"}`, msg: "Unauthorized"},
		{name: "names in any case", status: 401, body: `{"ErrorCode":10,"Message":"bad token"}`, code: "10", msg: "bad token"},
		{name: "lowercase name wins over mixed case", status: 401, body: `{"Message":"upper","message":"lower"}`, msg: "lower"},
		{name: "reason as message", status: 401, body: `{"error":{"type":"security_exception","reason":"unable to authenticate"},"status":401}`,
			code: "security_exception", msg: "unable to authenticate"},
		{name: "errors as a string", status: 401, body: `{"errors":"[API] Invalid API key"}`, msg: "[API] Invalid API key"},
		{name: "errors as strings", status: 403, body: `{"errors":["Forbidden","second"]}`, msg: "Forbidden"},
		{name: "errors as objects", status: 403, body: `{"errors":[{"code":9109,"message":"Invalid access token"}]}`, code: "9109", msg: "Invalid access token"},
		{name: "own message kept, code taken from errors when the object has none", status: 400, body: `{"message":"top","errors":[{"message":"inner","reason":"badRequest"}]}`, code: "badRequest", msg: "top"},
		{name: "id as code only without a code", status: 401, body: `{"id":"unauthorized","message":"Unable to authenticate you."}`, code: "unauthorized", msg: "Unable to authenticate you."},
		{name: "problem json", status: 403, body: `{"type":"about:blank","title":"Forbidden","detail":"The API key has expired"}`, code: "Forbidden", msg: "The API key has expired"},
		{name: "oauth", status: 401, body: `{"error":"invalid_token","error_description":"Token is expired."}`, code: "invalid_token", msg: "Token is expired."},
		{name: "error_message and category", status: 401, body: `{"category":"EXPIRED_AUTHENTICATION","error_message":"m","correlationId":"c-1"}`,
			code: "EXPIRED_AUTHENTICATION", msg: "m", reqID: "c-1"},
		{name: "slack", status: 200, body: `{"ok":false,"error":"token_revoked"}`, code: "token_revoked"},
		{name: "vendor header beats body", status: 401, header: http.Header{"Request-Id": {"hdr"}}, body: `{"request_id":"body"}`, reqID: "hdr"},
		{name: "body beats cf-ray", status: 401, header: http.Header{"Cf-Ray": {"ray"}}, body: `{"requestId":"body"}`, reqID: "body"},
		{name: "cf-ray last", status: 401, header: http.Header{"Cf-Ray": {"ray"}}, body: `{}`, reqID: "ray"},
		{name: "github request id header", status: 401, header: http.Header{"X-Github-Request-Id": {"A:B"}}, reqID: "A:B"},
		{name: "plain text", status: 401, body: "  Unauthorized\n", msg: "Unauthorized"},
		{name: "html is not quoted", status: 403, body: "<html><body>403</body></html>"},
		{name: "binary is not quoted", status: 401, body: "\xff\xfe\x00"},
		{name: "broken json is quoted as text", status: 401, body: `{"error": "unterminated`, msg: `{"error": "unterminated`},
		{name: "a top-level list of strings", status: 401, body: `["a","b"]`, msg: "a"},
		{name: "wrong types ignored", status: 401, body: `{"error":42,"message":["x"],"code":{"a":1},"errors":7,"details":{"a":"x"}}`},
		{name: "control characters and long text cleaned", status: 401, body: `{"message":"a\u0000b\nc","code":"` + long + `"}`,
			msg: "a b c", code: strings.Repeat("é", 256) + "…"},
		{name: "exactly the bound is kept whole", status: 401, body: `{"message":"` + strings.Repeat("a", 512) + `"}`, msg: strings.Repeat("a", 512)},
		{name: "cut at a rune boundary", status: 401, body: `{"message":"a` + strings.Repeat("é", 400) + `"}`, msg: "a" + strings.Repeat("é", 255) + "…"},
		{name: "deep nesting bounded", status: 401, body: strings.Repeat(`{"error":`, 50) + `{"message":"deep"}` + strings.Repeat(`}`, 50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apierr.Decode(tt.status, tt.header, []byte(tt.body))
			if e.StatusCode != tt.status || e.Code != tt.code || e.Message != tt.msg || e.RequestID != tt.reqID {
				t.Errorf("got status %d code %q message %q request ID %q\nwant status %d code %q message %q request ID %q",
					e.StatusCode, e.Code, e.Message, e.RequestID, tt.status, tt.code, tt.msg, tt.reqID)
			}
		})
	}
}

func TestCause(t *testing.T) {
	tests := []struct {
		code, msg string
		cause     apierr.KeyCause
		says      bool
	}{
		{code: "API_KEY_INVALID", msg: "API key not valid. Please pass a valid API key.", cause: apierr.CauseInvalid, says: true},
		{code: "API_KEY_EXPIRED", msg: "API key expired. Please renew the API key.", cause: apierr.CauseExpired, says: true},
		{code: "API_KEY_INVALID", msg: "API key expired. Please renew the API key.", cause: apierr.CauseExpired, says: true},
		{code: "token_expired", cause: apierr.CauseExpired, says: true},
		{code: "token_revoked", cause: apierr.CauseRevoked, says: true},
		{code: "account_inactive", cause: apierr.CauseRevoked},
		{code: "invalid_auth", cause: apierr.CauseInvalid, says: true},
		{code: "invalid_api_key", msg: "Incorrect API key provided: sk-abc.", cause: apierr.CauseInvalid, says: true},
		{code: "invalid_token", msg: "Token is expired. You can either do re-authorization or token refresh.", cause: apierr.CauseExpired, says: true},
		{code: "Invalid API Key", msg: "The API key provided is not valid or has expired.", cause: apierr.CauseUnknown, says: true},
		{msg: "The provided authorization grant is invalid, expired, or revoked", cause: apierr.CauseUnknown},
		{msg: "This API key has been disabled.", cause: apierr.CauseRevoked, says: true},
		{msg: "Request does not contain a valid Server token.", cause: apierr.CauseInvalid, says: true},
		{msg: "This hapikey doesn't exist.", cause: apierr.CauseUnknown},
		{msg: "Bad credentials", cause: apierr.CauseUnknown},
		{msg: "Unknown error", cause: apierr.CauseUnknown},
		{code: "invalid_request_error", msg: "max_tokens: Field required", cause: apierr.CauseUnknown}, // about the request, not the key
		{code: "security_exception", msg: "action [cluster:admin/xpack/security/api_key/invalidate] is unauthorized for API key id [x]", cause: apierr.CauseUnknown},
		{code: "insufficient_scope", msg: "The request requires higher privileges than provided by the access token.", cause: apierr.CauseUnknown},
		{code: "API_KEY_HTTP_REFERRER_BLOCKED", msg: "Requests from referer <empty> are blocked.", cause: apierr.CauseUnknown},
		{msg: "Unexpected token } in JSON at position 5", cause: apierr.CauseUnknown},
		{msg: "The token is valid", cause: apierr.CauseUnknown},
		{msg: "invalid request: message must be at least 1 token long or tool results must be specified.", cause: apierr.CauseUnknown},
		{msg: "Invalid private key", cause: apierr.CauseInvalid, says: true},
		{msg: "Your API key has expired. Please create a production key at dashboard.cohere.com.", cause: apierr.CauseExpired, says: true},
	}
	for _, tt := range tests {
		t.Run(tt.code+" "+tt.msg, func(t *testing.T) {
			if got := apierr.CauseOf(tt.code, tt.msg); got != tt.cause {
				t.Errorf("CauseOf = %v, want %v", got, tt.cause)
			}
			if got := apierr.SaysKeyInvalid(tt.code, tt.msg); got != tt.says {
				t.Errorf("SaysKeyInvalid = %v, want %v", got, tt.says)
			}
		})
	}
	for c, s := range map[apierr.KeyCause]string{apierr.CauseUnknown: "unknown", apierr.CauseInvalid: "invalid", apierr.CauseExpired: "expired", apierr.CauseRevoked: "revoked", 99: "unknown"} {
		if c.String() != s {
			t.Errorf("KeyCause(%d).String() = %q, want %q", int(c), c.String(), s)
		}
	}
}

func TestScrub(t *testing.T) {
	const key = "rk_live_SCRUBSCRUBSCRUB0001"
	e := &apierr.APIError{Code: "bad " + key, Message: key + " and " + key, RequestID: "id-" + key}
	e.Scrub(key)
	if e.Code != "bad [REDACTED]" || e.Message != "[REDACTED] and [REDACTED]" || e.RequestID != "id-[REDACTED]" {
		t.Errorf("after Scrub: %+v", e)
	}
	before := *e
	e.Scrub("")
	if *e != before {
		t.Errorf("Scrub(\"\") changed the error: %+v", e)
	}
}

func TestErrorText(t *testing.T) {
	refresh := errors.New("vault sealed")
	tests := []struct {
		name string
		e    apierr.APIError
		want string
	}{
		{name: "rejection with cause", e: apierr.APIError{StatusCode: 401, Code: "token_expired", Message: "Token is expired.", Cause: apierr.CauseExpired, InvalidKey: true, Replayed: true, Method: "GET", URL: "https://api.example.com/v1", RequestID: "r1"},
			want: "rekey: invalid API key for GET https://api.example.com/v1 (401 token_expired): Token is expired (key expired); refreshed once, still rejected (request ID r1)"},
		{name: "rejection without cause", e: apierr.APIError{StatusCode: 401, Code: "Invalid API Key", InvalidKey: true},
			want: "rekey: invalid API key (401): Unauthorized"},
		{name: "2xx rejection has no status text", e: apierr.APIError{StatusCode: 200, Code: "token_revoked", Cause: apierr.CauseRevoked, InvalidKey: true},
			want: "rekey: invalid API key (200 token_revoked) (key revoked)"},
		{name: "cause only for rejections", e: apierr.APIError{StatusCode: 403, Message: "nope", Cause: apierr.CauseRevoked},
			want: "rekey: request failed (403): nope"},
		{name: "refresh failed", e: apierr.APIError{StatusCode: 401, InvalidKey: true, RefreshFailed: true, Err: refresh},
			want: "rekey: invalid API key (401): Unauthorized; refreshing the key failed: vault sealed"},
		{name: "not replayed", e: apierr.APIError{StatusCode: 401, InvalidKey: true, NotReplayed: "its body cannot be re-read"},
			want: "rekey: invalid API key (401): Unauthorized; key refreshed but request not replayed: its body cannot be re-read"},
		{name: "new key rejected too", e: apierr.APIError{StatusCode: 401, InvalidKey: true, RefreshFailed: true, Err: fmt.Errorf("cache: %w", credentials.ErrRefreshedKeyRejected)},
			want: "rekey: invalid API key (401): Unauthorized; refreshed once, the new key was rejected too (no new refresh until the cooldown ends)"},
		{name: "gave up waiting", e: apierr.APIError{StatusCode: 401, InvalidKey: true, Err: context.DeadlineExceeded},
			want: "rekey: invalid API key (401): Unauthorized; gave up waiting for a new key: context deadline exceeded"},
		{name: "rate limited", e: apierr.APIError{StatusCode: 429}, want: "rekey: rate limited (429): Too Many Requests"},
		{name: "server error", e: apierr.APIError{StatusCode: 503, Message: "down."}, want: "rekey: server error (503): down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() =\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
	e := &apierr.APIError{StatusCode: 401, InvalidKey: true, RefreshFailed: true, Err: refresh}
	if !errors.Is(e, apierr.ErrInvalidAPIKey) || !errors.Is(e, apierr.ErrRefreshFailed) || !errors.Is(e, refresh) || errors.Is(e, apierr.ErrServer) {
		t.Errorf("errors.Is does not classify %v", e)
	}
	if s := fmt.Sprint(&apierr.APIError{StatusCode: 503}); !errors.Is(&apierr.APIError{StatusCode: 503}, apierr.ErrServer) || s == "" {
		t.Errorf("5xx not classified as ErrServer")
	}
}

// TestErrorClassBoundaries: the status ranges behind Error's wording and
// errors.Is, at their edges.
func TestErrorClassBoundaries(t *testing.T) {
	if got := (&apierr.APIError{StatusCode: 400}).Error(); got != "rekey: request failed (400): Bad Request" {
		t.Errorf("a 400 without a message reads %q", got)
	}
	if got := (&apierr.APIError{StatusCode: 399}).Error(); got != "rekey: request failed (399)" {
		t.Errorf("a 399 without a message reads %q", got)
	}
	for status, server := range map[int]bool{499: false, 500: true, 599: true, 600: false} {
		if got := errors.Is(&apierr.APIError{StatusCode: status}, apierr.ErrServer); got != server {
			t.Errorf("errors.Is(%d, ErrServer) = %v, want %v", status, got, server)
		}
		if got := (&apierr.APIError{StatusCode: status}).Error(); strings.Contains(got, "server error") != (status >= 500) {
			t.Errorf("%d reads %q", status, got)
		}
	}
	for status, limited := range map[int]bool{428: false, 429: true, 430: false} {
		if got := errors.Is(&apierr.APIError{StatusCode: status}, apierr.ErrRateLimited); got != limited {
			t.Errorf("errors.Is(%d, ErrRateLimited) = %v, want %v", status, got, limited)
		}
	}
	if errors.Is(&apierr.APIError{StatusCode: 401}, errors.New("other")) {
		t.Errorf("an APIError matches an unrelated error")
	}
}
