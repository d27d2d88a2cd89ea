package credentials

import (
	"encoding/base64"
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

// ValidateBasicUser checks key, on top of [Validate], for use as the user
// name of HTTP Basic authentication (RFC 7617), as Stripe and Freshdesk take
// it: a user name cannot contain a colon (the server would split the key
// there), and the key must not be a Basic credential encoded already. The
// error is a [*MalformedKeyError], never showing the key.
func ValidateBasicUser(key string) error {
	if p := problem(key); p != "" {
		return &MalformedKeyError{Problem: p}
	}
	if i := strings.IndexByte(key, ':'); i >= 0 {
		return &MalformedKeyError{Problem: fmt.Sprintf("the key contains a colon at byte %d, which HTTP Basic auth cannot carry in a user name: if it is \"user:password\", store only the key and configure the other part on the transport", i+1)}
	}
	if preEncoded(key) {
		return &MalformedKeyError{Problem: preEncodedProblem}
	}
	return nil
}

// ValidateBasicPassword checks key, on top of [Validate], for use as the
// password of HTTP Basic authentication (RFC 7617) with the user name user,
// as Mailgun ("api"), Twilio (the account SID) and Atlassian (an email) take
// it: the key must not start with the user name and a colon (the pair
// pasted where the key belongs), and must not be a Basic credential encoded
// already. The error is a [*MalformedKeyError], never showing the key.
func ValidateBasicPassword(user, key string) error {
	if p := problem(key); p != "" {
		return &MalformedKeyError{Problem: p}
	}
	if user != "" && strings.HasPrefix(key, user+":") {
		return &MalformedKeyError{Problem: "the key starts with the user name and a colon: store only the key (the password); the transport adds the user name"}
	}
	if preEncoded(key) {
		return &MalformedKeyError{Problem: preEncodedProblem}
	}
	return nil
}

const preEncodedProblem = `the key is already a base64-encoded "user:password" pair: store the key itself; the transport encodes it with the user name`

// preEncoded reports whether key is the base64 form of a "user:password"
// pair as keys and user names are written (letters, digits, "-._~+@"), one
// side of the colon at least MinKeyLength long: a pair encoded by hand where
// the key alone belongs. A random key is taken for one with odds of about
// one in 4×10^7 at 16 characters and below one in 10^14 at 32 (each decoded byte
// must be one of 69 values out of 256).
func preEncoded(key string) bool {
	if len(key)%4 != 0 || len(key) < 12 {
		return false
	}
	// StdEncoding refuses any byte outside its alphabet and padding
	// anywhere but the end; the \r and \n it would skip never get here
	// (Validate refuses them).
	decoded, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return false
	}
	for _, c := range decoded {
		if !isPairByte(c) {
			return false
		}
	}
	user, password, found := strings.Cut(string(decoded), ":")
	return found && (len(user) >= MinKeyLength || len(password) >= MinKeyLength)
}

func isPairByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+@:", c) >= 0
}
