package netaddr

import (
	"net/url"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "api.localhost": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true,
		"localhost.example.com": false, "10.0.0.1": false, "api.example.com": false, "": false, "0.0.0.0": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestHostPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, url string
		want         bool
	}{
		{"api.example.com", "https://API.example.com/x", true},
		{"api.example.com", "https://api.example.com:8443/x", true},
		{"api.example.com:443", "https://api.example.com/x", true},
		{"api.example.com:443", "http://api.example.com/x", false},
		{"api.example.com:8443", "https://api.example.com:8443/", true},
		{"[::1]:8080", "http://[::1]:8080/", true},
		{"::1", "http://[::1]:9/", true},
		{"api.example.com", "https://api.example.com.evil.test/", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		if got := ParseHostPattern(tt.pattern).Match(u); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.url, got, tt.want)
		}
	}
}

func TestSameAuthority(t *testing.T) {
	a, _ := url.Parse("https://api.example.com/a")
	for raw, want := range map[string]bool{
		"https://api.example.com:443/b": true, "https://API.EXAMPLE.COM/": true,
		"http://api.example.com/": false, "https://api.example.com:8443/": false, "https://other.example.com/": false,
	} {
		b, _ := url.Parse(raw)
		if got := SameAuthority(a, b); got != want {
			t.Errorf("SameAuthority(%s, %s) = %v, want %v", a, raw, got, want)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	u, _ := url.Parse("https://api.example.com/v1")
	p := ParseHostPattern("api.example.com:443")
	if n := testing.AllocsPerRun(100, func() { p.Match(u) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}
