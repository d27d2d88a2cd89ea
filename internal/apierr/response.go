package apierr

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/rekeyhq/rekey/credentials"
)

// FromResponse builds the APIError for a non-2xx response to req: it reads at
// most limit bytes of resp's body, closes it, decodes it, and scrubs from the
// result every header or query value that the layers below req added to the
// request they actually sent, which is where the key went: the request
// [WithSent] recorded on resp.Request, or else resp.Request itself.
func FromResponse(req *http.Request, resp *http.Response, limit int64) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
	resp.Body.Close()
	e := Decode(resp.StatusCode, resp.Header, body)
	e.Method = req.Method
	e.URL = RequestURL(req.URL)
	sent := resp.Request
	if s := sentRequest(resp.Request); s != nil {
		sent = s
	}
	e.scrubAdded(req, sent)
	return e
}

// sentKey is the context key under which WithSent records a sent request.
type sentKey struct{}

// WithSent returns a shallow copy of req (so its headers and URL are the
// caller's, without the key) whose context also records sent, the copy of
// req that carried the key on the wire. A Transport sets it as the Request
// of an error response it passes through: callers and SDKs print that
// Request, and FromResponse still finds what to scrub.
func WithSent(req, sent *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), sentKey{}, sentRef{sent}))
}

// sentRef hides the sent request from a context's String method.
type sentRef struct{ req *http.Request }

func (sentRef) String() string { return "[sent request]" }

// sentRequest returns the request WithSent recorded on r, or nil.
func sentRequest(r *http.Request) *http.Request {
	if r == nil {
		return nil
	}
	if ref, ok := r.Context().Value(sentKey{}).(sentRef); ok {
		return ref.req
	}
	return nil
}

// scrubAdded removes from e the values sent carries that req does not.
func (e *APIError) scrubAdded(req, sent *http.Request) {
	if sent == nil || sent == req {
		return
	}
	for name, vv := range sent.Header {
		if slices.Equal(req.Header[name], vv) {
			continue
		}
		for _, v := range vv {
			e.scrubValue(v)
		}
	}
	if sent.URL != nil && req.URL != nil && sent.URL.RawQuery != req.URL.RawQuery {
		orig := req.URL.Query()
		for name, vv := range sent.URL.Query() {
			if !slices.Equal(orig[name], vv) {
				for _, v := range vv {
					e.scrubValue(v)
				}
			}
		}
	}
}

func (e *APIError) scrubValue(v string) {
	scheme, after, found := strings.Cut(v, " ")
	if found {
		v = after // "Bearer <key>"
	}
	if len(v) >= credentials.MinKeyLength {
		e.Scrub(v)
	}
	if !found || !strings.EqualFold(scheme, "Basic") {
		return
	}
	// "Basic base64(user:password)": either half may be the key, and the
	// server may quote the pair encoded (padding dropped) or decoded.
	e.Scrub(strings.TrimRight(v, "="))
	pair, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return
	}
	user, password, _ := strings.Cut(string(pair), ":")
	for _, s := range []string{string(pair), user, password} {
		if len(s) >= credentials.MinKeyLength {
			e.Scrub(s)
		}
	}
}
