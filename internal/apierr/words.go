package apierr

import "strings"

// words splits text into lowercase words of ASCII letters and digits, the
// way a person reads an identifier or a sentence: "x-api-key" is x, api,
// key; "API_KEY_INVALID" is api, key, invalid; "keyInvalid" is key,
// invalid; "AccessTokenInvalid" is access, token, invalid; "APIKey" is api,
// key. Parts of URLs (anything with "://", or starting "www.") are left
// out: a link to a page named "rate-limits" says nothing about this error.
func words(text string) []string {
	var out []string
	for _, part := range strings.Fields(text) {
		if strings.Contains(part, "://") || strings.HasPrefix(strings.ToLower(part), "www.") {
			continue
		}
		out = appendWords(out, part)
	}
	return out
}

// appendWords appends the words of one whitespace-free part to out. In an
// identifier that counts tokens ("max_tokens", "input_tokens",
// "token_count"), "token" is a unit of text, not a credential: it becomes
// the word "tokencount", so that "max_tokens is invalid" (a payload error)
// does not read as "token ... invalid".
func appendWords(out []string, s string) []string {
	from := len(out)
	out = appendParts(out, s)
	if len(out)-from > 1 {
		countsTokens(out[from:])
	}
	return out
}

// countsTokens renames token and tokens in the words of one identifier
// when another of its words says they are counted.
func countsTokens(w []string) {
	counted := false
	for _, x := range w {
		counted = counted || tokenCountWords[x]
	}
	if !counted {
		return
	}
	for i, x := range w {
		if x == "token" || x == "tokens" {
			w[i] = "tokencount"
		}
	}
}

// appendParts appends the words of the runs of letters and digits in s.
func appendParts(out []string, s string) []string {
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = splitCamel(out, s[start:i])
			start = -1
		}
	}
	return out
}

// splitCamel appends the lowercase words of a run of letters and digits,
// split where the case changes: before an upper-case letter that follows a
// lower-case letter or a digit ("keyInvalid", "v2Token"), and before the last letter of an
// upper-case run that is followed by at least two lower-case letters
// ("APIKey" is API, Key; "IPs" stays one word).
func splitCamel(out []string, s string) []string {
	from := 0
	for i := 1; i < len(s); i++ {
		switch {
		case (isLower(s[i-1]) || isDigit(s[i-1])) && isUpper(s[i]):
		case isUpper(s[i-1]) && isUpper(s[i]) && lowerRun(s, i+1) >= 2:
		default:
			continue
		}
		out = append(out, strings.ToLower(s[from:i]))
		from = i
	}
	return append(out, strings.ToLower(s[from:]))
}

// lowerRun is the number of lower-case letters at s[i:].
func lowerRun(s string, i int) int {
	n := 0
	for ; i < len(s) && isLower(s[i]); i++ {
		n++
	}
	return n
}

func isAlnum(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// clauses splits a message into the words of its clauses, where a
// sentence or clause ends: . ; ! ? or a colon, followed by a space or the
// end of the text (so "1.2.3.4", "06:29:46" and URLs stay whole). This
// keeps a state word away from a key noun it does not describe: in
// "invalid request: message must be at least 1 token long", "invalid" is
// about the request. A colon right after a key noun introduces the key
// itself ("Your API key: sk-…f00 is invalid") and does not end the clause.
func clauses(text string) [][]string {
	var out [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	start := 0
	for i := 0; i <= len(text); i++ {
		if i < len(text) && !(endsClause(text[i]) && (i+1 == len(text) || isSpace(text[i+1]))) {
			continue
		}
		cur = append(cur, words(text[start:i])...)
		if i < len(text) && text[i] == ':' && len(cur) > 0 && isKeyNoun(cur, len(cur)-1) {
			start = i + 1
			continue
		}
		flush()
		start = i + 1
	}
	flush()
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func endsClause(c byte) bool {
	return c == '.' || c == ';' || c == '!' || c == '?' || c == ':'
}
