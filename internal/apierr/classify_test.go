package apierr_test

import (
	"testing"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// TestClassify: the rule shared by HTTP and gRPC. With authFailed (HTTP
// 401, gRPC Unauthenticated) an error is a rejection unless it speaks only
// of scope, permission, plan, quota, IP, region or rate limits; without
// (400, 403, PermissionDenied) only when it says the key is bad and
// nothing vetoes it.
func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		authFailed bool
		code, msg  string
		rejection  bool
		cause      apierr.KeyCause
	}{
		{"401 saying nothing", true, "", "", true, apierr.CauseUnknown},
		{"401 unauthorized", true, "", "Unauthorized", true, apierr.CauseUnknown},
		{"401 expired", true, "invalid_token", "The access token expired", true, apierr.CauseExpired},
		{"401 about scope only", true, "insufficient_scope", "The request requires higher privileges than provided by the access token.", false, apierr.CauseUnknown},
		{"401 scope code only", true, "missing_scope", "", false, apierr.CauseUnknown},
		{"401 restricted key", true, "restricted_api_key", "This API key is restricted to only send emails.", false, apierr.CauseUnknown},
		{"401 quota", true, "quota_exceeded", "This request exceeds your quota of 10000.", false, apierr.CauseUnknown},
		{"401 rate limited", true, "", "Rate limit exceeded", false, apierr.CauseUnknown},
		{"401 the key among other causes", true, "-2015", "Invalid API-key, IP, or permissions for action.", true, apierr.CauseUnknown},
		{"401 a link to a rate-limits page is no veto", true, "", "Unauthorized. See https://example.com/docs/rate-limits", true, apierr.CauseUnknown},
		{"401 rate without limit is no veto", true, "", "The exchange rate service needs a key", true, apierr.CauseUnknown},
		{"403 says invalid", false, "", "Invalid Application-ID or API key", true, apierr.CauseInvalid},
		{"400 code says invalid", false, "keyInvalid", "Bad Request", true, apierr.CauseInvalid},
		{"400 code names authentication", false, "EXPIRED_AUTHENTICATION", "", true, apierr.CauseExpired},
		{"400 invalid token lacking scopes", false, "4711", "Invalid access token, does not contain scopes:[user:read].", false, apierr.CauseUnknown},
		{"403 the key among other causes", false, "-2015", "Invalid API-key, IP, or permissions for action.", false, apierr.CauseUnknown},
		{"403 permission", false, "", "The provided key does not have the required permissions for this endpoint.", false, apierr.CauseUnknown},
		{"403 IP allowlist", false, "", "Invalid API key: this IP is not allowlisted", false, apierr.CauseUnknown},
		{"403 referrer restriction", false, "API_KEY_HTTP_REFERRER_BLOCKED", "Requests from referer <empty> are blocked.", false, apierr.CauseUnknown},
		{"400 billing", false, "invalid_request_error", "Your credit balance is too low. Please go to Plans & Billing.", false, apierr.CauseUnknown},
		{"400 about the payload", false, "invalid_request_error", "max_tokens: Field required", false, apierr.CauseUnknown},
		{"403 forbidden says nothing", false, "", "Forbidden", false, apierr.CauseUnknown},
		{"400 region", false, "FAILED_PRECONDITION", "User location is not supported for the API use; the key is invalid in this region.", false, apierr.CauseUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rejection, cause := apierr.Classify(tt.authFailed, tt.code, tt.msg)
			if rejection != tt.rejection || cause != tt.cause {
				t.Errorf("Classify(%v, %q, %q) = %v, %v; want %v, %v", tt.authFailed, tt.code, tt.msg, rejection, cause, tt.rejection, tt.cause)
			}
		})
	}
}

// TestSaysKeyInvalidByMeaning: a key noun and a state, close together in a
// clause of the message, or anywhere in the code.
func TestSaysKeyInvalidByMeaning(t *testing.T) {
	tests := []struct {
		code, msg string
		want      bool
	}{
		{"INVALID_API_KEYS", "invalid client_id or secret provided", true},
		{"invalid_token", "", true},
		{"token_expired", "", true},
		{"AccessTokenInvalid", "", true},
		{"InvalidAccessKeyId", "", true},
		{"INVALID_AUTHENTICATION", "", true},
		{"invalid_request_error", "", false},
		{"", "Error validating access token: Session has expired", true},
		{"", "Invalid token", true},
		{"", "Invalid credentials in Authorization header", true},
		{"", "The AWS Access Key Id you provided does not exist in our records.", true},
		{"", "Your API key: ****eek} is invalid", true},
		{"", "invalid request: message must be at least 1 token long", false},
		{"", "The token was used before 06:29:46, the start of its validity; all is invalid here", false},
		{"", "Invalid permissions", false},
		{"", "The specified key does not exist.", false},
		{"", "Invalid metadata key", false},
		{"", "Bad credentials", false},
		{"", "API key", false},
		{"", "expired", false},
		{"", "Your token is fine, but the card on file is invalid for this purchase", false},
		{"", "token a b c d e f g invalid", true}, // eight words apart: near
		{"", "invalid a b c d e f g token", true},
		{"", "invalid a b c d e f g h token", false},
		{"", "max_tokens is invalid", false}, // a payload parameter of a language model API
		{"", "max_completion_tokens is invalid: must be at most 4096", false},
		{"", "'input_tokens' is not valid for this model", false},
		{"invalid_request_error", "token_count invalid", false},
		{"", "The access_token is invalid", true},
		{"", "refresh_token expired", true},
		{"", "X-Auth-Token invalid", true},
		{"max_tokens_invalid", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.code+" "+tt.msg, func(t *testing.T) {
			if got := apierr.SaysKeyInvalid(tt.code, tt.msg); got != tt.want {
				t.Errorf("SaysKeyInvalid(%q, %q) = %v, want %v", tt.code, tt.msg, got, tt.want)
			}
		})
	}
}

// TestVetoedRateLimit: "rate" vetoes only as a rate limit, wherever it is
// in the words.
func TestVetoedRateLimit(t *testing.T) {
	tests := []struct {
		code, msg string
		want      bool
	}{
		{"", "Rate limit exceeded for this API key", true},
		{"RATE_LIMITED", "", true},
		{"", "API key invalid; rate exceeded", true},
		{"", "the key rate", false},
		{"", "rate", false},
		{"", "rate key limit", false},
		{"", "Quota exceeded", true},
		{"", "invalid API key", false},
	}
	for _, tt := range tests {
		if got := apierr.Vetoed(tt.code, tt.msg); got != tt.want {
			t.Errorf("Vetoed(%q, %q) = %v, want %v", tt.code, tt.msg, got, tt.want)
		}
	}
}
