package apierr_test

import (
	"testing"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// TestCauseWhenCodeAndMessageDisagree: what a person concludes when the
// code and the message name different causes. Invalid is the general
// cause and expired and revoked the particular ones, so a code naming
// expiry beside a message saying only "not valid" means expired (issue 23:
// a rule that let the message win would say invalid), and the other way
// round too. Expired against revoked is a contradiction: unknown.
func TestCauseWhenCodeAndMessageDisagree(t *testing.T) {
	tests := []struct {
		name, code, msg string
		want            apierr.KeyCause
	}{
		{"code names expiry, message only not valid", "API_KEY_EXPIRED", "API key not valid. Please pass a valid API key.", apierr.CauseExpired},
		{"code names expiry, message says invalid", "token_expired", "Invalid token", apierr.CauseExpired},
		{"code says invalid, message names expiry", "API_KEY_INVALID", "API key expired. Please renew the API key.", apierr.CauseExpired},
		{"code names revocation, message only not valid", "token_revoked", "The token is not valid", apierr.CauseRevoked},
		{"code says invalid, message names revocation", "invalid_token", "The access token has been revoked", apierr.CauseRevoked},
		{"code names revocation, message names expiry", "token_revoked", "The token has expired", apierr.CauseUnknown},
		{"code names expiry, message names revocation", "token_expired", "The token was revoked by its owner", apierr.CauseUnknown},
		{"specific code, message with alternatives", "token_expired", "The API key is invalid or has been revoked", apierr.CauseExpired},
		{"general code, message with alternatives", "invalid_api_key", "The API key is not valid or has expired", apierr.CauseUnknown},
		{"code alone", "keyInvalid", "Bad Request", apierr.CauseInvalid},
		{"message alone", "", "apiKey invalid. apiKey is expired.", apierr.CauseExpired},
		{"clauses that contradict", "", "Key revoked. Key expired.", apierr.CauseUnknown},
		{"code that is about the request", "invalid_request_error", "Authentication Fails (no such user)", apierr.CauseUnknown},
		{"code that names two causes", "expired_or_revoked_token", "", apierr.CauseUnknown},
		{"code that refines itself", "invalid_expired_token", "", apierr.CauseExpired},
		{"code about the account", "account_inactive", "", apierr.CauseRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apierr.CauseOf(tt.code, tt.msg); got != tt.want {
				t.Errorf("CauseOf(%q, %q) = %v, want %v", tt.code, tt.msg, got, tt.want)
			}
		})
	}
}

// TestCauseNamesOnlyOne: the cause is named only when the body names
// exactly one, next to the key; alternatives leave it unknown.
func TestCauseNamesOnlyOne(t *testing.T) {
	tests := []struct {
		msg  string
		want apierr.KeyCause
	}{
		{"Invalid API key", apierr.CauseInvalid},
		{"Invalid key", apierr.CauseInvalid},
		{"Key not found", apierr.CauseInvalid},
		{"The access token you sent could not be found or is invalid.", apierr.CauseInvalid},
		{"Invalid Application-ID or API key", apierr.CauseInvalid},
		{"[API] Invalid API key or access token (unrecognized login or wrong password)", apierr.CauseInvalid},
		{"Authentication Fails, Your API key: ****eek} is invalid", apierr.CauseInvalid},
		{"Error validating access token: Session has expired on Monday, 19-Jun-23 06:29:46 PDT.", apierr.CauseExpired},
		{"This api key is no longer active.", apierr.CauseRevoked},
		{"The session has been invalidated because the user changed their password.", apierr.CauseRevoked},
		{"Session expired or invalid", apierr.CauseUnknown},
		{"Missing or invalid private key.", apierr.CauseUnknown},
		{"API key not provided or invalid API key used", apierr.CauseUnknown},
		{"Bad API Key or no API Key provided", apierr.CauseUnknown},
		{"Missing/invalid/expired access token", apierr.CauseUnknown},
		{"Invalid API-key, IP, or permissions for action.", apierr.CauseUnknown},
		{"Access denied due to invalid subscription key or wrong API endpoint.", apierr.CauseUnknown},
		{"Your API key may be invalid, or you've attempted to access the wrong datacenter.", apierr.CauseUnknown},
		{"Either the token expired", apierr.CauseUnknown},
		{"Invalid or revoked API key.", apierr.CauseUnknown},
		{"No user found matching the \"sub\" claim of the token.", apierr.CauseUnknown},
		{"Invalid API key. Please see https://example.com/faq#expired for more info.", apierr.CauseInvalid},
		{"The specified key does not exist.", apierr.CauseUnknown},
		{"Idempotency key expired", apierr.CauseUnknown},
		{"The token is valid", apierr.CauseUnknown},
		{"Invalid: a b c d e f g token", apierr.CauseUnknown},
		{"Invalid a b c d e f g token", apierr.CauseInvalid},   // eight words apart: near
		{"Invalid a b c d e f g h token", apierr.CauseUnknown}, // nine: not
		{"token a b c d e f g invalid", apierr.CauseInvalid},
		{"token a b c d e f g h invalid", apierr.CauseUnknown},
		{"Invalid permissions", apierr.CauseUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := apierr.CauseOf("", tt.msg); got != tt.want {
				t.Errorf("CauseOf(%q) = %v, want %v", tt.msg, got, tt.want)
			}
		})
	}
}
