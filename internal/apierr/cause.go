package apierr

import "strings"

// KeyCause says why an API rejected a key, when the API says so. See
// rekey.KeyCause.
type KeyCause int

// The causes the invalid-key runbook distinguishes.
const (
	// CauseUnknown: the API did not say why (or said it ambiguously, as in
	// "invalid, expired, or revoked").
	CauseUnknown KeyCause = iota
	// CauseInvalid: the API does not recognise the key: mistyped, truncated,
	// from another account or environment, or never issued.
	CauseInvalid
	// CauseExpired: the key was valid and has expired.
	CauseExpired
	// CauseRevoked: the key was revoked, disabled or deleted, or its owner
	// deactivated.
	CauseRevoked
)

// String returns "unknown", "invalid", "expired" or "revoked".
func (c KeyCause) String() string {
	switch c {
	case CauseInvalid:
		return "invalid"
	case CauseExpired:
		return "expired"
	case CauseRevoked:
		return "revoked"
	}
	return "unknown"
}

// window is how many words apart a key noun ("API key", "token") and a
// state word ("invalid", "expired") may be in a clause of a message.
const window = 8

// SaysKeyInvalid reports whether an error's code or message says, in so
// many words, that the API key (or token, or credentials) is invalid,
// expired, revoked, unknown or disabled: "API key not valid",
// "API_KEY_INVALID", "token_revoked", "Token is expired". A key noun and a
// state word must occur in the same clause of the same field, close
// together, as whole words, so "max_tokens: Field required" and "invalid
// request: message must be at least 1 token long" (payload errors) and
// "action [...] is unauthorized for API key id [...]" (a permission error)
// do not count.
func SaysKeyInvalid(code, message string) bool {
	for _, text := range [2]string{code, message} {
		for _, clause := range clauses(text) {
			w := words(clause)
			for i := range w {
				if isKeyNoun(w, i) && stateNear(w, i) != CauseUnknown {
					return true
				}
			}
		}
	}
	return false
}

// clauses splits a message where a sentence or clause ends (. : ; ! ?),
// so that "invalid request: ... token ..." keeps the state word away from
// the key noun it does not describe.
func clauses(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return r == '.' || r == ':' || r == ';' || r == '!' || r == '?'
	})
}

// CauseOf returns the cause an error's code and message name. A code that
// names expiry or revocation (API_KEY_EXPIRED, token_revoked,
// EXPIRED_AUTHENTICATION) wins; then a message that names exactly one cause
// next to a key noun ("API key expired. Please renew the API key."); then a
// code that names invalidity (invalid_api_key, API_KEY_INVALID), unless the
// message names several causes ("not valid or has expired"). Anything else
// is CauseUnknown: the cause is never guessed from the status.
func CauseOf(code, message string) KeyCause {
	c := causeInCode(words(code))
	if c == CauseExpired || c == CauseRevoked {
		return c
	}
	m, ambiguous := causeInMessage(message)
	switch {
	case m != CauseUnknown:
		return m
	case ambiguous:
		return CauseUnknown
	}
	return c
}

// causeInCode is the one cause a short identifier names, anywhere in it.
func causeInCode(w []string) KeyCause {
	found := CauseUnknown
	for i := range w {
		c := stateAt(w, i)
		if c == CauseUnknown {
			continue
		}
		if found != CauseUnknown && found != c {
			return CauseUnknown
		}
		found = c
	}
	return found
}

// causeInMessage is the one cause a message names next to a key noun, in
// the same clause; ambiguous reports that it names more than one.
func causeInMessage(message string) (cause KeyCause, ambiguous bool) {
	for _, clause := range clauses(message) {
		w := words(clause)
		for i := range w {
			c := stateAt(w, i)
			if c == CauseUnknown || !keyNounNear(w, i) {
				continue
			}
			if cause != CauseUnknown && cause != c {
				return CauseUnknown, true
			}
			cause = c
		}
	}
	return cause, false
}

// words splits text into lowercase words of letters and digits:
// "x-api-key" is x, api, key; "API_KEY_INVALID" is api, key, invalid.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// isKeyNoun reports whether w[i] ends a noun for the credential: "token",
// "credentials", "apikey", or "key" after "api", "access", "secret" or
// "private".
func isKeyNoun(w []string, i int) bool {
	switch w[i] {
	case "token", "credential", "credentials", "apikey":
		return true
	case "key":
		return i > 0 && (w[i-1] == "api" || w[i-1] == "access" || w[i-1] == "secret" || w[i-1] == "private")
	}
	return false
}

func keyNounNear(w []string, i int) bool {
	for j := max(0, i-window); j < min(len(w), i+window+1); j++ {
		if isKeyNoun(w, j) {
			return true
		}
	}
	return false
}

func stateNear(w []string, i int) KeyCause {
	for j := max(0, i-window); j < min(len(w), i+window+1); j++ {
		if c := stateAt(w, j); c != CauseUnknown {
			return c
		}
	}
	return CauseUnknown
}

// stateAt returns the cause the word w[i] names, if any: "expired",
// "revoked", "invalid", or a negation followed closely by "valid", "found",
// "exist" or "recognized" ("not valid", "does not contain a valid",
// "doesn't exist").
func stateAt(w []string, i int) KeyCause {
	switch w[i] {
	case "expired":
		return CauseExpired
	case "revoked", "disabled", "deactivated", "deleted", "inactive":
		return CauseRevoked
	case "invalid", "incorrect", "malformed", "unknown", "unrecognized", "unrecognised", "wrong":
		return CauseInvalid
	case "not", "no", "doesn", "isn":
		for j := i + 1; j < min(len(w), i+4); j++ {
			switch w[j] {
			case "valid", "found", "exist", "exists", "recognized", "recognised":
				return CauseInvalid
			}
		}
	}
	return CauseUnknown
}
