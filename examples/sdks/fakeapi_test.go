package sdks_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// placeholder is what each SDK gets in its own key option: rekey injects the
// real key, and the fake APIs report any request that still carries this.
const placeholder = "set-by-rekey"

// vendor is how an API authenticates, rejects and answers, as its
// documentation says.
type vendor struct {
	name            string
	keyHeader       string // the header that carries the key
	scheme          string // "Bearer", or "" for the bare key
	basicUser       string // if set, the key is the HTTP Basic auth password of this user
	requestIDHeader string // "" for an API whose request ID rekey does not read
	rejection       string // the documented body of the invalid-key rejection
	rejectionStatus int    // its status; 0 means 401
	unavailable     string // a 503 body
	// placeholder is what the SDK gets as its key, if not the usual one
	// (twilio-go accepts only letters and digits).
	placeholder string
	// host, if set, is the API's own host name: the API is served over TLS
	// and the client dials loopback for it (see fakeAPI.transport), for an
	// SDK whose base URL cannot be changed.
	host string
	// required lists other headers the SDK must send (name → value, "" for any).
	required map[string]string
	// serve answers an authenticated request; streams call next between
	// events (see fakeAPI.next).
	serve func(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte)
}

// fakeAPI is a loopback server for one vendor. It accepts the keys in
// valid, answers 503 to the first `unavailable` requests (all, if -1), and
// records every wire problem it sees: a missing or doubled key header, the
// placeholder sent anywhere, a missing required header.
type fakeAPI struct {
	*httptest.Server
	v        vendor
	requests atomic.Int64
	gate     chan struct{} // if set, a stream waits here between events

	mu          sync.Mutex
	valid       map[string]bool
	unavailable int
	problems    []string
}

func newFakeAPI(t testing.TB, v vendor, valid ...string) *fakeAPI {
	t.Helper()
	a := startFakeAPI(v, valid...)
	t.Cleanup(a.Close)
	t.Cleanup(func() {
		for _, p := range a.wireProblems() {
			t.Errorf("%s API: %s", v.name, p)
		}
	})
	return a
}

// startFakeAPI starts the API for v; the caller closes it.
func startFakeAPI(v vendor, valid ...string) *fakeAPI {
	a := &fakeAPI{v: v, valid: map[string]bool{}}
	for _, k := range valid {
		a.valid[k] = true
	}
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(a.handle))
	if v.host != "" {
		a.StartTLS()
	} else {
		a.Start()
	}
	return a
}

// baseURL is where clients send requests: the server's URL, or for an API
// with a fixed host, https://host.
func (a *fakeAPI) baseURL() string {
	if a.v.host != "" {
		return "https://" + a.v.host
	}
	return a.URL
}

// transport returns, for an API with a fixed host, an http.Transport that
// dials the loopback server for that host and trusts its certificate: the
// request keeps its real URL (https://api.twilio.com/...), so rekey's host
// and https checks see what they would in production. It returns nil for
// the other APIs.
func (a *fakeAPI) transport() *http.Transport {
	if a.v.host == "" {
		return nil
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.Certificate())
	addr := a.Listener.Addr().String()
	var d net.Dialer
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"}, // httptest's certificate
	}
}

// placeholderKey is what the SDK gets as its key.
func (v vendor) placeholderKey() string {
	if v.placeholder != "" {
		return v.placeholder
	}
	return placeholder
}

func (a *fakeAPI) accept(key string) {
	a.mu.Lock()
	a.valid[key] = true
	a.mu.Unlock()
}

// failNext makes the next n requests answer 503 (-1: all of them).
func (a *fakeAPI) failNext(n int) {
	a.mu.Lock()
	a.unavailable = n
	a.mu.Unlock()
}

func (a *fakeAPI) wireProblems() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.problems...)
}

func (a *fakeAPI) problem(format string, args ...any) {
	a.mu.Lock()
	a.problems = append(a.problems, fmt.Sprintf(format, args...))
	a.mu.Unlock()
}

func (a *fakeAPI) handle(w http.ResponseWriter, r *http.Request) {
	n := a.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	if a.v.requestIDHeader != "" {
		w.Header().Set(a.v.requestIDHeader, fmt.Sprintf("req_%s_%d", a.v.name, n))
	}
	w.Header().Set("Content-Type", "application/json")

	ph := a.v.placeholderKey()
	for name, vv := range r.Header {
		for _, v := range vv {
			if strings.Contains(v, ph) || strings.Contains(decodeBasic(v), ph) {
				a.problem("request %d carries the SDK's placeholder in %s: rekey's header did not replace it", n, name)
			}
		}
	}
	if strings.Contains(string(body), ph) || strings.Contains(r.URL.RawQuery, ph) {
		a.problem("request %d carries the SDK's placeholder in its body or query: the API would see two keys", n)
	}
	for name, want := range a.v.required {
		if got := r.Header.Get(name); got == "" || want != "" && got != want {
			a.problem("request %d: header %s = %q, want %q", n, name, got, want)
		}
	}
	values := r.Header.Values(a.v.keyHeader)
	if len(values) != 1 {
		a.problem("request %d has %d %s headers, want 1", n, len(values), a.v.keyHeader)
	}
	key := r.Header.Get(a.v.keyHeader)
	if a.v.scheme != "" {
		key = strings.TrimPrefix(key, a.v.scheme+" ")
	}
	if a.v.basicUser != "" {
		user, password, ok := r.BasicAuth()
		if !ok || user != a.v.basicUser {
			a.problem("request %d: Basic auth user %q, want %q", n, user, a.v.basicUser)
		}
		key = password
	}

	a.mu.Lock()
	fail := a.unavailable != 0
	if a.unavailable > 0 {
		a.unavailable--
	}
	ok := a.valid[key]
	a.mu.Unlock()
	switch {
	case fail:
		w.Header().Set("Retry-After-Ms", "1") // read by the OpenAI and Anthropic SDKs
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, a.v.unavailable)
	case !ok:
		w.WriteHeader(a.v.rejectStatus())
		io.WriteString(w, a.v.rejection)
	default:
		a.v.serve(a, w, r, body)
	}
}

// rejectStatus is the status of the API's invalid-key rejection.
func (v vendor) rejectStatus() int {
	if v.rejectionStatus != 0 {
		return v.rejectionStatus
	}
	return http.StatusUnauthorized
}

// decodeBasic returns the decoded pair of an HTTP Basic auth header value,
// or "".
func decodeBasic(v string) string {
	enc, ok := strings.CutPrefix(v, "Basic ")
	if !ok {
		return ""
	}
	pair, _ := base64.StdEncoding.DecodeString(enc)
	return string(pair)
}

// events writes a server-sent event stream. With the API's gate set, each
// event after the first waits until the client has read the one before, so
// a layer that buffered the stream would stall it.
type events struct {
	a    *fakeAPI
	w    http.ResponseWriter
	sent int
}

// startStream answers 200 with an event stream.
func (a *fakeAPI) startStream(w http.ResponseWriter) *events {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &events{a: a, w: w}
}

// send writes one event (no "event:" line if event is empty) and flushes it.
func (e *events) send(event, data string) {
	if e.sent > 0 && e.a.gate != nil {
		select {
		case <-e.a.gate:
		case <-time.After(10 * time.Second):
			// The client did not see the last event: something buffers the
			// stream. End it with an error so the test fails, not hangs.
			fmt.Fprintf(e.w, "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"api_error\", \"message\": \"stream stalled\"}}\n\n")
			return
		}
	}
	e.sent++
	if event != "" {
		fmt.Fprintf(e.w, "event: %s\n", event)
	}
	fmt.Fprintf(e.w, "data: %s\n\n", data)
	e.w.(http.Flusher).Flush()
}
