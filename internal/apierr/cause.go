package apierr

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

// CauseOf returns the cause that an error's code and message name, or
// CauseUnknown: the cause is never guessed from the status.
//
// The rule is what a person reading the response would conclude:
//
//   - A message clause names a cause when a state word (invalid, incorrect,
//     "not valid", "not found", "does not exist"; expired; revoked,
//     disabled, deleted, "no longer active") stands next to a key noun
//     (API key, token, credentials, secret, session).
//   - A clause that offers alternatives names no single cause: two causes
//     ("not valid or has expired", "invalid, expired, or revoked"), a
//     missing key ("missing or invalid", "not provided or invalid"), a
//     hedge ("may be invalid"), or another subject ("invalid API key, IP,
//     or permissions", "invalid key or wrong endpoint"). Such a message
//     leaves the cause unknown, unless the code names expiry or
//     revocation itself.
//   - A code names a cause only when it also names the credential or its
//     owner: token_expired, API_KEY_INVALID, keyInvalid, account_inactive;
//     invalid_request_error is about the request and names none.
//   - Invalid is the general cause, expired and revoked the particular
//     ones: a key that expired is not valid. So when one part says invalid
//     and another says expired (a code naming expiry with a message saying
//     only "not valid", or "apiKey invalid. apiKey is expired."), the
//     cause is expired; likewise revoked. Expired against revoked is a
//     contradiction: unknown.
func CauseOf(code, message string) KeyCause {
	c := causeInCode(words(code))
	m, ambiguous := causeInMessage(message)
	if ambiguous {
		if c == CauseExpired || c == CauseRevoked {
			return c
		}
		return CauseUnknown
	}
	return refine(c, m)
}

// refine combines two findings: the particular cause wins over the general
// one (invalid), and expired against revoked is unknown.
func refine(a, b KeyCause) KeyCause {
	switch {
	case a == b || b == CauseUnknown:
		return a
	case a == CauseUnknown || a == CauseInvalid:
		return b
	case b == CauseInvalid:
		return a
	}
	return CauseUnknown
}

// causeInCode is the cause a short identifier names, if it names the
// credential or its owner too.
func causeInCode(w []string) KeyCause {
	subject := false
	for i := range w {
		if isKeyNoun(w, i) || codeSubjects[w[i]] {
			subject = true
			break
		}
	}
	if !subject {
		return CauseUnknown
	}
	found := CauseUnknown
	for i := range w {
		found = refine(found, stateAt(w, i))
	}
	return found
}

// causeInMessage is the cause a message names next to a key noun;
// ambiguous reports that a clause offers alternatives, or that clauses
// contradict each other.
func causeInMessage(message string) (cause KeyCause, ambiguous bool) {
	for _, w := range clauses(message) {
		c := CauseUnknown
		for i := range w {
			s := stateAt(w, i)
			if s == CauseUnknown || !keyNounNear(w, i) {
				continue
			}
			if c != CauseUnknown && c != s {
				return CauseUnknown, true // two causes in one clause
			}
			c = s
		}
		if c == CauseUnknown {
			continue
		}
		if hedged(w) {
			return CauseUnknown, true
		}
		next := refine(cause, c)
		if next == CauseUnknown {
			return CauseUnknown, true // expired in one clause, revoked in another
		}
		cause = next
	}
	return cause, false
}

// hedged reports whether a clause leaves room for another cause: a
// missing key, a hedge, or an alternative subject.
func hedged(w []string) bool {
	or, other := false, false
	for i := range w {
		switch {
		case missingWords[w[i]] || hedgeWords[w[i]]:
			return true
		case negations[w[i]] && followedBy(w, i, negatedMissing):
			return true
		case w[i] == alternativeWord:
			or = true
		case otherSubjects[w[i]]:
			other = true
		}
	}
	return or && other
}

// isKeyNoun reports whether w[i] names the credential: "token",
// "credentials", "apikey", or "key" after a qualifier that makes it one
// ("API key", "the key", "invalid key"), or at the start.
func isKeyNoun(w []string, i int) bool {
	switch {
	case keyNouns[w[i]]:
		return true
	case w[i] == "key" || w[i] == "keys":
		return i == 0 || keyQualifiers[w[i-1]]
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

// stateAt returns the cause the word w[i] names, if any: "expired";
// "revoked", "disabled", "deleted"; "invalid", "incorrect", "malformed";
// or a negation followed closely by "valid", "found", "exist" ("not
// valid", "does not contain a valid", "could not be found") or by
// "active" ("no longer active").
func stateAt(w []string, i int) KeyCause {
	switch {
	case expiredWords[w[i]]:
		return CauseExpired
	case revokedWords[w[i]]:
		return CauseRevoked
	case invalidWords[w[i]]:
		return CauseInvalid
	case !negations[w[i]]:
		return CauseUnknown
	case followedBy(w, i, negatedInvalid):
		return CauseInvalid
	case followedBy(w, i, negatedRevoked):
		return CauseRevoked
	}
	return CauseUnknown
}

// followedBy reports whether one of the three words after w[i] is in s.
func followedBy(w []string, i int, s map[string]bool) bool {
	for j := i + 1; j < min(len(w), i+4); j++ {
		if s[w[j]] {
			return true
		}
	}
	return false
}
