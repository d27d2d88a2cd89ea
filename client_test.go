package rekey_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

func TestNewClientRejectsBadConfiguration(t *testing.T) {
	key := rekey.WithCredentials(credentials.Static(clientKey1))
	tests := []struct {
		name    string
		baseURL string
		opts    []rekey.Option
		want    string
		is      error
	}{
		{"unparsable URL", "https://api.example.com/%zz", []rekey.Option{key}, "base URL", nil},
		{"no scheme", "api.example.com/v1", []rekey.Option{key}, "must start with https://", nil},
		{"other scheme", "ftp://api.example.com", []rekey.Option{key}, "must start with https://", nil},
		{"no host", "https:///v1", []rekey.Option{key}, "has no host", nil},
		{"user information", "https://user:pw@api.example.com", []rekey.Option{key}, "user information", nil},
		{"query", "https://api.example.com/v1?api_key=x", []rekey.Option{key}, "query or fragment", nil},
		{"plain http to a remote host", "http://api.example.com", []rekey.Option{key}, "WithInsecureHTTP", rekey.ErrInsecureRequest},
		{"no key source", "https://api.example.com", nil, "WithCredentials", rekey.ErrNoCredentials},
		{"nil provider", "https://api.example.com", []rekey.Option{rekey.WithCredentials(nil)}, "WithCredentials(nil)", nil},
		{"header and query", "https://api.example.com", []rekey.Option{key, rekey.WithHeader("X-API-Key"), rekey.WithQueryParam("api_key")}, "use one", nil},
		{"cache and refresh", "https://api.example.com", []rekey.Option{
			rekey.WithCredentials(&credentials.Cache{Provider: credentials.Static(clientKey1)}),
			rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
				return credentials.Credential{}, nil
			}),
		}, "set Refresh on the Cache", nil},
		{"negative timeout", "https://api.example.com", []rekey.Option{key, rekey.WithTimeout(-1)}, "negative timeout", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := rekey.NewClient(tt.baseURL, tt.opts...)
			if err == nil {
				c.Close()
				t.Fatal("NewClient succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "rekey: ") {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8080/v1", "http://localhost", "https://api.example.com"} {
		c, err := rekey.NewClient(ok, key)
		if err != nil {
			t.Errorf("NewClient(%q): %v", ok, err)
			continue
		}
		c.Close()
	}
	if c, err := rekey.NewClient("http://10.0.0.1", key, rekey.WithInsecureHTTP()); err != nil {
		t.Errorf("WithInsecureHTTP: %v", err)
	} else {
		c.Close()
	}
}

func TestNewRequestResolvesPathsOnTheBaseHost(t *testing.T) {
	c, err := rekey.NewClient("https://api.example.com/v1", rekey.WithCredentials(credentials.Static(clientKey1)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct{ path, want string }{
		{"things", "https://api.example.com/v1/things"},
		{"things/1?expand=owner", "https://api.example.com/v1/things/1?expand=owner"},
		{"/status", "https://api.example.com/status"},
		{"things/../status", "https://api.example.com/v1/status"},
		{"../v2/things", "https://api.example.com/v2/things"},
		{"a b", "https://api.example.com/v1/a%20b"},
		{"caf%C3%A9", "https://api.example.com/v1/caf%C3%A9"},
		{"", "https://api.example.com/v1/"},
		{"https://api.example.com/v2/things", "https://api.example.com/v2/things"},
		{"//evil.example/steal", ""},
		{"https://evil.example/things", ""},
		{"http://api.example.com/v1/things", ""}, // downgrade
		{"https://user@api.example.com/v1/things", ""},
	}
	for _, tt := range tests {
		req, err := c.NewRequest(context.Background(), "GET", tt.path, nil)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("NewRequest(%q) = %s, want an error", tt.path, req.URL)
		case tt.want == "" && !strings.Contains(err.Error(), "leaves the base URL"):
			t.Errorf("NewRequest(%q) error %q does not say why", tt.path, err)
		case tt.want != "" && err != nil:
			t.Errorf("NewRequest(%q): %v", tt.path, err)
		case tt.want != "" && req.URL.String() != tt.want:
			t.Errorf("NewRequest(%q) URL = %s, want %s", tt.path, req.URL, tt.want)
		}
	}
}

// closeTracker is an io.Reader (not one http.NewRequest knows) that records Close.
type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestNewRequestBodiesAndHeaders(t *testing.T) {
	c, err := rekey.NewClient("https://api.example.com/v1", rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithUserAgent("acme/2.0"), rekey.WithIdempotencyKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stream := &closeTracker{Reader: strings.NewReader("streamed")}
	tests := []struct {
		name, method string
		body         any
		want         string // "" for no body
	}{
		{"no body", "GET", nil, ""},
		{"struct as JSON", "POST", struct {
			Name string `json:"name"`
		}{"x"}, `{"name":"x"}`},
		{"map as JSON", "PUT", map[string]int{"n": 1}, `{"n":1}`},
		{"bytes as is", "POST", []byte(`{"raw":true}`), `{"raw":true}`},
		{"bytes.Buffer as is", "POST", bytes.NewBufferString("buf"), "buf"},
		{"other reader read in", "PATCH", stream, "streamed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := c.NewRequest(context.Background(), tt.method, "things", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if req.GetBody == nil {
				t.Fatal("GetBody is nil")
			}
			for i := 0; i < 2; i++ { // the body can be re-read
				b, err := req.GetBody()
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := io.ReadAll(b); string(got) != tt.want {
					t.Errorf("GetBody #%d = %q, want %q", i+1, got, tt.want)
				}
			}
			h := req.Header
			if h.Get("Accept") != "application/json" || h.Get("User-Agent") != "acme/2.0" {
				t.Errorf("headers = %v", h)
			}
			if wantCT := map[bool]string{true: "", false: "application/json"}[tt.want == ""]; h.Get("Content-Type") != wantCT {
				t.Errorf("Content-Type = %q, want %q", h.Get("Content-Type"), wantCT)
			}
			if idem := h.Get("Idempotency-Key"); (idem != "") != (tt.method == "POST") {
				t.Errorf("Idempotency-Key = %q for %s", idem, tt.method)
			}
		})
	}
	if !stream.closed {
		t.Error("NewRequest did not close the io.ReadCloser it read")
	}
	if _, err := c.NewRequest(context.Background(), "POST", "things", iotest.ErrReader(errors.New("disk gone"))); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("unreadable body: err = %v", err)
	}
	if _, err := c.NewRequest(context.Background(), "POST", "things", func() {}); err == nil {
		t.Error("a body JSON cannot encode: no error")
	}
	if _, err := c.NewRequest(context.Background(), "BAD METHOD", "things", nil); err == nil {
		t.Error("an invalid method: no error")
	}
}

func TestDoDecodesSuccess(t *testing.T) {
	api := newFakeAPI(t, clientKey1)
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)))

	got, resp, err := get(t, c, "things/1")
	if err != nil || resp.StatusCode != 200 || *got != (thing{ID: "thing_1", Name: "widget", Count: 3}) {
		t.Fatalf("Do = %+v, %v, %v", got, resp, err)
	}

	req, _ := c.NewRequest(context.Background(), "POST", "echo?x=1", map[string]string{"a": "b"})
	var echo struct{ Method, Body, Query string }
	if _, err := c.Do(req, &echo); err != nil || echo.Method != "POST" || echo.Body != `{"a":"b"}` || echo.Query != "x=1" {
		t.Errorf("echo = %+v, %v", echo, err)
	}

	req, _ = c.NewRequest(context.Background(), "DELETE", "empty", nil)
	if resp, err := c.Do(req, &echo); err != nil || resp.StatusCode != 204 {
		t.Errorf("204 with a value to decode into: %v, %v", resp, err)
	}

	req, _ = c.NewRequest(context.Background(), "GET", "things/1", nil)
	if _, err := c.Do(req, nil); err != nil {
		t.Errorf("nil v: %v", err)
	}

	var buf bytes.Buffer
	req, _ = c.NewRequest(context.Background(), "GET", "things/1", nil)
	if _, err := c.Do(req, &buf); err != nil || !strings.Contains(buf.String(), `"widget"`) {
		t.Errorf("io.Writer v: %q, %v", buf.String(), err)
	}

	req, _ = c.NewRequest(context.Background(), "GET", "things/1", nil)
	var wrong []int
	if _, err := c.Do(req, &wrong); err == nil || !strings.Contains(err.Error(), "decoding the response to GET") {
		t.Errorf("undecodable body: err = %v", err)
	}
}

func TestDoTurnsStatusesIntoAPIErrors(t *testing.T) {
	tests := []struct {
		status int
		is     error
		not    []error
	}{
		{400, nil, []error{rekey.ErrInvalidAPIKey, rekey.ErrRateLimited, rekey.ErrServer}},
		{403, nil, []error{rekey.ErrInvalidAPIKey}},
		{404, nil, []error{rekey.ErrInvalidAPIKey, rekey.ErrServer}},
		{429, rekey.ErrRateLimited, []error{rekey.ErrInvalidAPIKey, rekey.ErrServer}},
		{500, rekey.ErrServer, []error{rekey.ErrInvalidAPIKey, rekey.ErrRateLimited}},
		{503, rekey.ErrServer, []error{rekey.ErrInvalidAPIKey}},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			api := newFakeAPI(t, clientKey1)
			api.enqueue(tt.status)
			c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)), rekey.WithoutRetries())
			_, resp, err := get(t, c, "things/1?secret=q")
			var apiErr *rekey.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			want := rekey.APIError{
				StatusCode: tt.status, Code: "e" + strconv.Itoa(tt.status), Message: "queued " + strconv.Itoa(tt.status),
				RequestID: "req-1", Method: "GET", URL: api.URL + "/v1/things/1",
			}
			if *apiErr != want {
				t.Errorf("APIError =\n  %+v\nwant\n  %+v", *apiErr, want)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Errorf("resp = %v, want the %d response", resp, tt.status)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false", tt.is)
			}
			for _, not := range tt.not {
				if errors.Is(err, not) {
					t.Errorf("errors.Is(err, %v) = true", not)
				}
			}
		})
	}
}

func TestDoReturnsInvalidKeyUnwrapped(t *testing.T) {
	api := newFakeAPI(t) // accepts nothing
	m := &minter{api: api}
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithRefresh(func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			m.calls.Add(1)
			return credentials.Credential{Key: clientKey2}, nil
		}))
	_, resp, err := get(t, c, "things/1")
	var apiErr *rekey.APIError
	if resp != nil || !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &apiErr) {
		t.Fatalf("Do = %v, %v; want the invalid-key error", resp, err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		t.Errorf("the error is wrapped in *url.Error: %v", err)
	}
	if !apiErr.Replayed || apiErr.StatusCode != 401 || m.calls.Load() != 1 || api.calls.Load() != 2 {
		t.Errorf("APIError %+v after %d refreshes and %d requests; want one refresh and one replay", apiErr, m.calls.Load(), api.calls.Load())
	}
}

func TestDoKeepsContextErrors(t *testing.T) {
	api := newFakeAPI(t, clientKey1)
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := c.NewRequest(ctx, "GET", "things/1", nil)
	if _, err := c.Do(req, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestHTTPClientCarriesTheWholeStack(t *testing.T) {
	api := newFakeAPI(t)
	other := newFakeAPI(t, clientKey2)
	m := &minter{api: api}
	c := newTestClient(t, api, rekey.WithRefresh(m.refresh), fastRetries)
	api.enqueue(503) // the first attempt gets a 503
	hc := c.HTTPClient()
	hc.Timeout = 1 // changing the copy does not change the Client
	hc = c.HTTPClient()

	resp, err := hc.Get(api.URL + "/v1/things/1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Get = %v, %v", resp, err)
	}
	resp.Body.Close()
	if api.calls.Load() != 2 {
		t.Errorf("server saw %d requests, want 2 (a 503, then the retry)", api.calls.Load())
	}

	// Another host does not get the key.
	resp, err = hc.Get(other.URL + "/v1/things/1")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("Get to another host = %v, %v; want its 401 passed through", resp, err)
	}
	resp.Body.Close()
	reqs, _ := other.received()
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "" {
		t.Errorf("the key went to a host other than the base URL's")
	}

	// Errors are wrapped in *url.Error and still match.
	api.accept("nothing", time.Time{}, true)
	m.api = other // new keys are accepted elsewhere, not here
	_, err = hc.Get(api.URL + "/v1/things/1")
	var apiErr *rekey.APIError
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &apiErr) {
		t.Errorf("err = %v, want the invalid-key error", err)
	}
}
