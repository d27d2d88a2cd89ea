package credentials

import (
	"errors"
	"fmt"
	"strings"
)

// MinKeyLength is the shortest key [Validate] accepts. Real API keys are long
// random strings; anything shorter is almost always a truncated paste or a
// placeholder.
const MinKeyLength = 8

// ErrMalformedKey is matched (with errors.Is) by every error from [Validate]:
// the key is wrong on its face, before any network call. Retrying will not
// help; fix the key at its source.
var ErrMalformedKey = errors.New("credentials: malformed API key")

// MalformedKeyError says what is wrong with a key, without printing it.
type MalformedKeyError struct {
	// Source names where the key came from, e.g. `environment variable "API_KEY"`.
	// Empty when unknown.
	Source string
	// Problem describes the defect and how to fix it.
	Problem string
}

// Error returns "credentials: malformed API key [from Source]: Problem".
func (e *MalformedKeyError) Error() string {
	if e.Source == "" {
		return "credentials: malformed API key: " + e.Problem
	}
	return "credentials: malformed API key from " + e.Source + ": " + e.Problem
}

// Is reports whether target is [ErrMalformedKey].
func (e *MalformedKeyError) Is(target error) bool { return target == ErrMalformedKey }

// Validate checks a key locally, the machine version of "double-check it for
// typographical errors": it rejects an empty key, a key shorter than
// [MinKeyLength], surrounding whitespace or quotes, a pasted "Bearer " (or
// other scheme) prefix, whitespace, control or non-ASCII characters inside.
// The error is a [*MalformedKeyError] naming the problem, never the key.
func Validate(key string) error {
	if p := problem(key); p != "" {
		return &MalformedKeyError{Problem: p}
	}
	return nil
}

// validateFrom is Validate with the key's source named in the error.
func validateFrom(source, key string) error {
	if p := problem(key); p != "" {
		return &MalformedKeyError{Source: source, Problem: p}
	}
	return nil
}

func problem(key string) string {
	if key == "" {
		return "the key is empty: set it to the API key issued for your account"
	}
	if strings.TrimSpace(key) != key {
		return "the key has leading or trailing whitespace: remove it (a trailing newline is a common cause)"
	}
	if len(key) >= 2 && isQuote(key[0]) && isQuote(key[len(key)-1]) {
		return "the key is wrapped in quotes: remove them; they are not part of the key"
	}
	if scheme, _, found := strings.Cut(key, " "); found {
		switch strings.ToLower(scheme) {
		case "bearer", "basic", "token", "apikey", "api-key":
			return fmt.Sprintf("the key starts with the %q scheme: store only the key; the transport adds the scheme", scheme)
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == ' ' || c == '\t':
			return fmt.Sprintf("the key contains whitespace at byte %d: check for two keys pasted together or a line-wrapped copy", i+1)
		case c == '\n' || c == '\r':
			return fmt.Sprintf("the key contains a line break at byte %d: check for a line-wrapped copy", i+1)
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("the key contains a control character at byte %d: retype or re-copy it", i+1)
		case c >= 0x80:
			return fmt.Sprintf("the key contains a non-ASCII character at byte %d (often a smart quote or a look-alike letter from a document): retype it", i+1)
		}
	}
	if len(key) < MinKeyLength {
		return fmt.Sprintf("the key is only %d characters long: API keys are long random strings; check that the whole key was copied", len(key))
	}
	return ""
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }
