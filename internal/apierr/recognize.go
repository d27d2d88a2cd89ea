package apierr

// Classify is the one rule, shared by every transport, that decides from
// an error's code and message whether it is the invalid-key rejection and
// names its cause. authFailed says that the transport's own status already
// reports failed authentication: HTTP 401, or gRPC codes.Unauthenticated.
// Pass false for statuses that may or may not be about the key: HTTP 400
// and 403, gRPC codes.PermissionDenied and codes.InvalidArgument. code is
// the error's machine code (for gRPC, the google.rpc.ErrorInfo reason if
// any), message its human text.
//
//   - With authFailed, the error is a rejection unless its words are only
//     about what a valid key may do (scope, permission, plan, quota, IP,
//     region, rate limit; see Vetoed): a 401 "missing_scope" is not.
//   - Without, it is a rejection only when the words say the key is
//     invalid, expired or revoked (SaysKeyInvalid) and nothing vetoes it:
//     a 400 "Invalid access token, does not contain scopes" is not.
//
// cause is CauseOf(code, message) for a rejection and CauseUnknown
// otherwise.
func Classify(authFailed bool, code, message string) (rejection bool, cause KeyCause) {
	says := SaysKeyInvalid(code, message)
	if authFailed {
		rejection = says || !Vetoed(code, message)
	} else {
		rejection = says && !Vetoed(code, message)
	}
	if rejection {
		cause = CauseOf(code, message)
	}
	return rejection, cause
}

// SaysKeyInvalid reports whether an error's code or message says, in so
// many words, that the API key (or token, or credentials) is invalid,
// expired, revoked, unknown or disabled: "API key not valid",
// "API_KEY_INVALID", "keyInvalid", "token_revoked", "Token is expired". In
// a message, a key noun and a state word must occur close together in the
// same clause, as whole words, so "max_tokens: Field required" and
// "invalid request: message must be at least 1 token long" (payload
// errors) and "action [...] is unauthorized for API key id [...]" (a
// permission error) do not count. A code counts when it holds a key noun
// (or "authentication") and a state word anywhere. It does not look for
// vetoes: see Classify.
func SaysKeyInvalid(code, message string) bool {
	w := words(code)
	noun, state := false, false
	for i := range w {
		noun = noun || isKeyNoun(w, i) || w[i] == "authentication"
		state = state || stateAt(w, i) != CauseUnknown
	}
	if noun && state {
		return true
	}
	for _, w := range clauses(message) {
		for i := range w {
			if isKeyNoun(w, i) && stateNear(w, i) != CauseUnknown {
				return true
			}
		}
	}
	return false
}

// Vetoed reports whether an error's code or message speaks of what a valid
// key may do rather than of the key itself: scope, permission, privilege,
// plan, quota, billing, IP, region, restrictions, referrer, or a rate
// limit. A new key from the same account would be refused the same way,
// so such an error is not refreshed, whatever else it says (see Classify).
// Links are not read: a URL naming a "rate-limits" page is no veto.
func Vetoed(code, message string) bool {
	return vetoes(words(code)) || vetoes(words(message))
}

func vetoes(w []string) bool {
	for i := range w {
		if vetoWords[w[i]] || w[i] == "rate" && i+1 < len(w) && rateLimitWords[w[i+1]] {
			return true
		}
	}
	return false
}
