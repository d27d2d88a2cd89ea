package transport

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// guard decides whether req may carry the key. It returns false for a
// request that should go out without it (a host not in Hosts, a redirect hop
// to another host) and an error for one that must not go out at all (the
// key over plain http to a host that is not loopback).
func (t *Transport) guard(req *http.Request) (bool, error) {
	if len(t.Hosts) > 0 && !hostListed(t.Hosts, req.URL) {
		return false, nil
	}
	if origin := originURL(req); origin != nil && authority(origin) != authority(req.URL) {
		return false, nil
	}
	if !strings.EqualFold(req.URL.Scheme, "https") && !t.AllowInsecureHTTP && !isLoopback(req.URL.Hostname()) {
		return false, fmt.Errorf("%w: %s is plain %s to a host that is not loopback: use https, or set AllowInsecureHTTP (rekey.WithInsecureHTTP) for a trusted network",
			apierr.ErrInsecureRequest, apierr.RequestURL(req.URL), req.URL.Scheme)
	}
	return true, nil
}

// originURL returns the URL of the first request of a redirect chain, or nil
// if req is not a redirect hop. net/http sets Request.Response on each hop.
func originURL(req *http.Request) *url.URL {
	if req.Response == nil {
		return nil
	}
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first.URL
}

// authority is a URL's host and port, with the scheme's default port filled
// in, lowercased: two URLs with the same authority reach the same server.
func authority(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(host, port)
}

func hostListed(hosts []string, u *url.URL) bool {
	for _, h := range hosts {
		if host, port, err := net.SplitHostPort(h); err == nil {
			if net.JoinHostPort(strings.ToLower(host), port) == authority(u) {
				return true
			}
		} else if strings.EqualFold(strings.Trim(h, "[]"), u.Hostname()) {
			return true
		}
	}
	return false
}

// isLoopback reports whether host is "localhost" (or a name under it) or a
// loopback IP address.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
