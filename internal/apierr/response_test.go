package apierr_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/internal/apierr"
)

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestFromResponse: the body is read up to the limit and closed, and every
// value the layers below the caller added to the request (where the key
// went) is scrubbed from what the server said, while the caller's own
// values and short values stay.
func TestFromResponse(t *testing.T) {
	const (
		headerKey = "rk_live_HEADERSECRET0000"
		bearerKey = "rk_live_BEARERSECRET0000"
		queryKey  = "rk_live_QUERYSECRET00000"
		callers   = "caller-visible-trace-0001"
	)
	req, _ := http.NewRequest(http.MethodGet, "https://user:pw@api.example.com/v1/x?page=2&q=short", nil)
	req.Header.Set("X-Trace", callers)
	sent := req.Clone(req.Context())
	sent.Header.Set("X-Api-Key", headerKey)
	sent.Header.Set("Authorization", "Bearer "+bearerKey)
	sent.Header.Set("X-Short", "tiny")
	sent.Header.Set("X-Eight", "EIGHT8ch") // credentials.MinKeyLength: could be a key
	sent.Header.Set("X-Seven", "SEVEN7c")  // one shorter: cannot
	sent.URL = &url.URL{Scheme: "https", Host: "api.example.com", Path: "/v1/x", RawQuery: "page=2&q=short&api_key=" + queryKey + "&x=tiny"}

	msg := "keys " + headerKey + " " + bearerKey + " " + queryKey + " trace " + callers + " tiny EIGHT8ch SEVEN7c"
	body := &closeCounter{Reader: strings.NewReader(`{"message":"` + msg + `","request_id":"id-` + headerKey + `"}`)}
	resp := &http.Response{StatusCode: 401, Header: http.Header{}, Body: body, Request: sent}
	e := apierr.FromResponse(req, resp, 1<<20)
	want := "keys [REDACTED] [REDACTED] [REDACTED] trace " + callers + " tiny [REDACTED] SEVEN7c"
	if e.Message != want || e.RequestID != "id-[REDACTED]" {
		t.Errorf("message %q, request ID %q\nwant %q, id-[REDACTED]", e.Message, e.RequestID, want)
	}
	if e.Method != "GET" || e.URL != "https://api.example.com/v1/x" || e.StatusCode != 401 {
		t.Errorf("method %q URL %q status %d", e.Method, e.URL, e.StatusCode)
	}
	if body.closed != 1 {
		t.Errorf("body closed %d times, want once", body.closed)
	}

	// The limit: only its bytes are decoded.
	long := &closeCounter{Reader: strings.NewReader("0123456789abcdef")}
	if e := apierr.FromResponse(req, &http.Response{StatusCode: 500, Header: http.Header{}, Body: long}, 10); e.Message != "0123456789" || long.closed != 1 {
		t.Errorf("read %q with a limit of 10 (closed %d)", e.Message, long.closed)
	}

	// No scrub when nothing was added: the response's request is the
	// caller's, or unknown.
	for name, sentReq := range map[string]*http.Request{"same request": req, "no request": nil} {
		b := &closeCounter{Reader: strings.NewReader(`{"message":"` + callers + `"}`)}
		if e := apierr.FromResponse(req, &http.Response{StatusCode: 403, Header: http.Header{}, Body: b, Request: sentReq}, 1<<10); e.Message != callers {
			t.Errorf("%s: message %q, want %q", name, e.Message, callers)
		}
	}

	// A query changed only in value is scrubbed; an unchanged query is not
	// read; a request without a URL is skipped.
	changed := req.Clone(req.Context())
	changed.URL = &url.URL{Scheme: "https", Host: "api.example.com", Path: "/v1/x", RawQuery: "page=" + queryKey + "&q=short"}
	b := &closeCounter{Reader: strings.NewReader(`{"message":"` + queryKey + `"}`)}
	if e := apierr.FromResponse(req, &http.Response{StatusCode: 401, Header: http.Header{}, Body: b, Request: changed}, 1<<10); e.Message != "[REDACTED]" {
		t.Errorf("changed query value: message %q", e.Message)
	}
	noURL := req.Clone(req.Context())
	noURL.URL = nil
	b = &closeCounter{Reader: strings.NewReader(`{"message":"` + queryKey + `"}`)}
	if e := apierr.FromResponse(req, &http.Response{StatusCode: 401, Header: http.Header{}, Body: b, Request: noURL}, 1<<10); e.Message != queryKey {
		t.Errorf("no URL: message %q", e.Message)
	}
	if got := apierr.RequestURL(nil); got != "" {
		t.Errorf("RequestURL(nil) = %q", got)
	}
}
