package sdks_test

import (
	"fmt"
	"io"
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
	requestIDHeader string
	rejection       string // the documented 401 body
	unavailable     string // a 503 body
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
	a.Server = httptest.NewServer(http.HandlerFunc(a.handle))
	return a
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
	w.Header().Set(a.v.requestIDHeader, fmt.Sprintf("req_%s_%d", a.v.name, n))
	w.Header().Set("Content-Type", "application/json")

	for name, vv := range r.Header {
		for _, v := range vv {
			if strings.Contains(v, placeholder) {
				a.problem("request %d carries the SDK's placeholder in %s: rekey's header did not replace it", n, name)
			}
		}
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
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, a.v.rejection)
	default:
		a.v.serve(a, w, r, body)
	}
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
