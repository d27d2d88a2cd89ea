// Package netaddr holds the small host and port rules that rekey's root
// package and package transport share.
package netaddr

import (
	"net"
	"net/url"
	"strings"
)

// IsLoopback reports whether host is "localhost" (or a name under it) or a
// loopback IP address.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if strings.EqualFold(host, "localhost") || hasSuffixFold(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Port returns u's port, or its scheme's default port ("443", "80") when the
// URL names none. It does not allocate.
func Port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch {
	case strings.EqualFold(u.Scheme, "https"):
		return "443"
	case strings.EqualFold(u.Scheme, "http"):
		return "80"
	}
	return ""
}

// SameAuthority reports whether a and b reach the same host and port, the
// rule browsers and net/http apply before forwarding credentials.
func SameAuthority(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname()) && Port(a) == Port(b)
}

// HostPattern is one entry of a host allow-list: a host name or IP, and a
// port ("" means any port).
type HostPattern struct{ Host, Port string }

// ParseHostPattern parses "api.example.com", "api.example.com:8443",
// "[::1]:8080" or "::1".
func ParseHostPattern(s string) HostPattern {
	if host, port, err := net.SplitHostPort(s); err == nil {
		return HostPattern{Host: host, Port: port}
	}
	return HostPattern{Host: strings.Trim(s, "[]")}
}

// Match reports whether u is on the pattern's host (and port, if set). It
// does not allocate.
func (p HostPattern) Match(u *url.URL) bool {
	return strings.EqualFold(p.Host, u.Hostname()) && (p.Port == "" || p.Port == Port(u))
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
