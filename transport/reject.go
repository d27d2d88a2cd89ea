package transport

import (
	"bytes"
	"io"
	"net/http"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// IsInvalidKeyRejection is the default rejection matcher. Every 401 is a
// rejection. A 403 or a 400 is one only when its decoded error says, in so
// many words, that the API key (or token, or credentials) is invalid,
// expired, revoked, unknown or disabled: Google's 400 with reason
// API_KEY_INVALID or API_KEY_EXPIRED, Algolia's 403 "Invalid Application-ID
// or API key". A 400 about the payload, a 403 about permissions or scope, a
// 429 and every 2xx or 3xx pass through: refreshing on those would cost a
// refresh per bad request, and on many APIs a refresh mints a new key and
// revokes the old one.
//
// It reads the body only for a 400 or a 403, and allocates nothing for any
// other status.
func IsInvalidKeyRejection(resp *http.Response, body func() []byte) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden, http.StatusBadRequest:
		return SaysKeyInvalid(body())
	}
	return false
}

// SaysKeyInvalid reports whether an error body says that the API key (or
// token, or credential) is invalid, expired, revoked, unknown or disabled,
// as in {"error": "Invalid API Key", "message": "The API key provided is not
// valid or has expired."} or {"error": {"details": [{"reason":
// "API_KEY_INVALID", ...}]}}. The key noun and the state word must appear
// close together in the decoded code or message, as whole words: a body
// about "max_tokens", or one saying that an action "is unauthorized for API
// key id [...]", does not count.
func SaysKeyInvalid(body []byte) bool {
	e := apierr.Decode(0, nil, body)
	return apierr.SaysKeyInvalid(e.Code, e.Message)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
