package apierr

import (
	"net/http"
	"strings"
)

// challenge returns the error code and description of an RFC 6750 bearer
// challenge, as in
//
//	WWW-Authenticate: Bearer error="invalid_token", error_description="The access token expired"
//
// which some APIs send with an empty body. Any scheme is read, and the
// first values found win.
func challenge(h http.Header) (code, description string) {
	for _, v := range h.Values("Www-Authenticate") {
		if code == "" {
			code = authParam(v, "error")
		}
		if description == "" {
			description = authParam(v, "error_description")
		}
	}
	return code, description
}

// authParam returns the value of the auth-param name in a challenge, a
// quoted string (with backslash escapes) or a token, or "".
func authParam(v, name string) string {
	for i := 0; i+len(name) < len(v); i++ {
		if !strings.EqualFold(v[i:i+len(name)], name) || i > 0 && !isParamSep(v[i-1]) {
			continue
		}
		j := i + len(name)
		for j < len(v) && v[j] == ' ' {
			j++
		}
		if j >= len(v) || v[j] != '=' {
			continue
		}
		j++
		for j < len(v) && v[j] == ' ' {
			j++
		}
		return paramValue(v[j:])
	}
	return ""
}

func isParamSep(c byte) bool { return c == ' ' || c == ',' || c == '\t' }

// paramValue reads a quoted string or a token at the start of s.
func paramValue(s string) string {
	if s == "" || s[0] != '"' {
		end := strings.IndexAny(s, ", \t")
		if end < 0 {
			end = len(s)
		}
		return s[:end]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
