package transport

import (
	"bytes"
	"io"
	"net/http"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// IsInvalidKeyRejection is the default rejection matcher. It reads the
// error the way a person would, by its words, not by which API sent it:
//
//   - A 401 is a rejection, unless its words are only about what a valid
//     key may do: scope, permission, plan, quota, IP, region, rate limit
//     (a 401 "missing_scope" or "This API key is restricted to only send
//     emails" passes through: a new key would be refused the same way).
//   - A 403 or a 400 is one only when its decoded error says, in so many
//     words, that the API key (or token, or credentials) is invalid,
//     expired, revoked, unknown or disabled ("API key not valid",
//     API_KEY_INVALID, keyInvalid, "Session has expired", "Invalid
//     Application-ID or API key"), and says nothing about scope,
//     permission, plan, quota, IP, region or rate limits: "Invalid access
//     token, does not contain scopes" passes through.
//
// A 400 about the payload, a 403 about permissions, a 429 and every 2xx or
// 3xx pass through: refreshing on those would cost a refresh per bad
// request, and on many APIs a refresh mints a new key and revokes the old
// one. The rule is apierr.Classify; Decode finds the code and message in
// JSON, XML, HTML or text bodies and in the WWW-Authenticate header.
//
// It reads the body only for a 400, 401 or 403, and allocates nothing for
// any other status.
func IsInvalidKeyRejection(resp *http.Response, body func() []byte) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
		e := apierr.Decode(resp.StatusCode, resp.Header, body())
		rejection, _ := apierr.Classify(resp.StatusCode == http.StatusUnauthorized, e.Code, e.Message)
		return rejection
	}
	return false
}

// SaysKeyInvalid reports whether an error body says that the API key (or
// token, or credential) is invalid, expired, revoked, unknown or disabled,
// as in {"error": "Invalid API Key", "message": "The API key provided is not
// valid or has expired."} or {"error": {"details": [{"reason":
// "API_KEY_INVALID", ...}]}}, and does not speak of scope, permission,
// plan, quota, IP, region or rate limits. The key noun and the state word
// must appear close together in the decoded code or message, as whole
// words: a body about "max_tokens", or one saying that an action "is
// unauthorized for API key id [...]", does not count. It is what the
// default matcher asks of a 400 or a 403.
func SaysKeyInvalid(body []byte) bool {
	e := apierr.Decode(0, nil, body)
	rejection, _ := apierr.Classify(false, e.Code, e.Message)
	return rejection
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
