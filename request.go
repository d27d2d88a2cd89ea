package rekey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/transport"
)

// NewRequest returns a request to send with [Client.Do].
//
// path is resolved against the base URL as a relative reference: "things"
// and "things?limit=10" below the base URL's path, "/things" from the host's
// root. A path that leaves the base URL's scheme and host (such as
// "//evil.example" or "https://other.example/") is an error, so a path built
// from user input cannot send the key elsewhere.
//
// body may be nil (no body), a []byte or io.Reader (sent as is; an
// io.Reader other than *bytes.Reader, *bytes.Buffer or *strings.Reader is
// read into memory, and closed if it is an io.Closer), or any other value,
// which is encoded as JSON. The request has Accept: application/json, the
// Client's User-Agent, Content-Type: application/json when it has a body
// (set another after NewRequest if needed), an Idempotency-Key for a POST
// when [WithIdempotencyKeys] is on, and always a GetBody, so that the
// request can be replayed after a key refresh and retried.
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	r, err := bodyReader(body)
	if err != nil {
		return nil, fmt.Errorf("rekey: request body for %s %s: %w", method, apierr.RequestURL(u), err)
	}
	req, err := http.NewRequestWithContext(ctx, method, "", r) // u is set below: no second parse
	if err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	req.URL, req.Host = u, strings.TrimSuffix(u.Host, ":")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.GetBody = noBody
	}
	if c.idempotencyKeys && req.Method == http.MethodPost {
		req.Header.Set(transport.IdempotencyKeyHeader, transport.NewIdempotencyKey())
	}
	return req, nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// resolve resolves path against the base URL and checks that the result
// stays on the base URL's scheme and host.
func (c *Client) resolve(path string) (*url.URL, error) {
	if plainPath(path) && c.baseURL.RawPath == "" {
		u := *c.baseURL // the common case, without parsing and resolving
		u.Path += path
		return &u, nil
	}
	ref, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("rekey: request path: %w", err)
	}
	u := c.baseURL.ResolveReference(ref)
	if !strings.EqualFold(u.Scheme, c.baseURL.Scheme) || !strings.EqualFold(u.Host, c.baseURL.Host) || u.User != nil {
		return nil, fmt.Errorf("rekey: request path %s leaves the base URL %s: use a path on the same host (a Client sends its key to one API)",
			apierr.RequestURL(u), c.baseURL)
	}
	return u, nil
}

// plainPath reports whether path is a relative path whose resolution is
// simply appending it to the base URL's path: no scheme, query, fragment,
// escapes, dot segments or leading slash.
func plainPath(path string) bool {
	if path == "" || path[0] == '/' || path == "." || path == ".." ||
		strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../") ||
		strings.Contains(path, "/./") || strings.Contains(path, "/../") ||
		strings.HasSuffix(path, "/.") || strings.HasSuffix(path, "/..") {
		return false
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == ':' || c == '?' || c == '#' || c == '%' || c == '\\' || c <= ' ' || c >= 0x7f:
			return false
		}
	}
	return true
}

// bodyReader turns NewRequest's body argument into a reader for which
// http.NewRequest sets GetBody, or nil for no body.
func bodyReader(body any) (io.Reader, error) {
	switch b := body.(type) {
	case nil:
		return nil, nil
	case []byte:
		return bytes.NewReader(b), nil
	case *bytes.Reader, *bytes.Buffer, *strings.Reader:
		return b.(io.Reader), nil
	case io.Reader:
		data, err := io.ReadAll(b)
		if c, ok := b.(io.Closer); ok {
			c.Close()
		}
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(data), nil
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(data), nil
}
