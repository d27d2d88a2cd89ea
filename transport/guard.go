package transport

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/internal/netaddr"
)

// guard decides whether req may carry the key. It returns false for a
// request that should go out without it (a host not in Hosts, a redirect hop
// to another host) and an error for one that must not go out at all (the
// key over plain http to a host that is not loopback). It does not allocate
// on the way to true.
func (t *Transport) guard(req *http.Request) (bool, error) {
	if len(t.hosts) > 0 && !hostListed(t.hosts, req.URL) {
		return false, nil
	}
	if origin := originURL(req); origin != nil && !netaddr.SameAuthority(origin, req.URL) {
		return false, nil
	}
	if !strings.EqualFold(req.URL.Scheme, "https") && !t.AllowInsecureHTTP && !netaddr.IsLoopback(req.URL.Hostname()) {
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

func hostListed(hosts []netaddr.HostPattern, u *url.URL) bool {
	for _, h := range hosts {
		if h.Match(u) {
			return true
		}
	}
	return false
}
