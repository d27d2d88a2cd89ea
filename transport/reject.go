package transport

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// IsInvalidKeyRejection is the default rejection matcher: every 401 is a
// rejection; a 403 is one only when its body says the API key is invalid,
// expired or revoked (so a 403 about permissions passes through); nothing
// else is.
func IsInvalidKeyRejection(resp *http.Response, body func() []byte) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden:
		return SaysKeyInvalid(body())
	}
	return false
}

// SaysKeyInvalid reports whether an error body says that the API key (or
// token, or credential) is invalid, expired or revoked, as in
// {"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}.
func SaysKeyInvalid(body []byte) bool {
	e := apierr.Decode(0, nil, body)
	text := strings.ToLower(e.Code + " " + e.Message)
	if !containsAny(text, "api key", "api_key", "apikey", "api-key", "access key", "token", "credential") {
		return false
	}
	return containsAny(text, "invalid", "not valid", "expired", "revoked", "unknown", "incorrect", "malformed", "disabled")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
