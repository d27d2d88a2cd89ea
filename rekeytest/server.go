package rekeytest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// Server is a fake API service listening on loopback, started by
// [NewServer] and stopped by [Server.Close]. It issues, expires and revokes
// API keys, answers every bad key with the canonical 401 ([InvalidKeyBody]),
// and can inject faults. All its methods are safe for concurrent use; the
// zero Server is not usable.
//
// A Server never prints a key or its account secret: String, GoString and
// every fmt verb show only its URL.
type Server struct {
	// URL is the base URL of the API, such as "http://127.0.0.1:4567",
	// with no trailing slash.
	URL string

	*server // behind two pointers: see server
}

// server is one more pointer between a Server and its state. fmt prints a
// Server through its Format method, except as an unexported field of some
// other struct, where it uses reflection; with a bad verb (%s, %q) it then
// dereferences one pointer, and would print the account secret and the
// keys if state were one pointer away rather than two.
type server struct{ *state }

// state holds the state of a Server.
type state struct {
	cfg       config
	hs        *httptest.Server
	store     keyStore
	faults    faultState
	stats     counters
	bodies    bodyLog
	idem      idempotency
	reqPrefix string
	reqSeq    atomic.Uint64

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	bg        sync.WaitGroup // background goroutines (rotation)
	hijacks   sync.WaitGroup // handlers dropping a connection, which httptest no longer tracks
}

// NewServer starts a Server on 127.0.0.1 at a free port, configured by opts,
// and returns it; call [Server.Close] when done, typically with t.Cleanup.
// Like [httptest.NewServer], it panics if it cannot listen; it also panics
// on an invalid Option.
func NewServer(opts ...Option) *Server {
	cfg := config{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.accountSecret == "" {
		cfg.accountSecret = randomToken(accountSecretPrefix)
	}
	if !cfg.seeded {
		cfg.seed = rand.Int64()
	}
	s := &Server{server: &server{&state{
		cfg:       cfg,
		store:     keyStore{keys: make(map[string]keyRecord)},
		reqPrefix: randomToken("")[:6],
		done:      make(chan struct{}),
	}}}
	s.faults.f = cfg.faults
	s.faults.rng = rand.New(rand.NewPCG(uint64(cfg.seed), 0x72656b6579)) // "rekey"
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.hs.URL
	if cfg.rotateEvery > 0 {
		s.bg.Add(1)
		go s.rotateLoop(cfg.rotateEvery)
	}
	return s
}

// Close stops background rotation, cuts short any injected delay, closes the
// listener and every connection, and waits for handlers in flight to return.
// When it returns, the server owns no goroutine, timer or connection. Close
// is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.bg.Wait()
		s.hs.Close()
		s.hijacks.Wait()
	})
}

// Client returns an *http.Client for talking to the server, whose idle
// connections Close closes. It adds no key: set one per request, or wrap its
// Transport.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// AccountSecret returns the secret that authorizes POST /v1/keys, as
// "Authorization: Bearer <secret>". It is not an API key: the API endpoints
// reject it.
func (s *Server) AccountSecret() string { return s.cfg.accountSecret }

// String describes the server by its URL; it never contains a key or the
// account secret.
func (s Server) String() string { return "rekeytest.Server{URL: " + s.URL + "}" }

// GoString is the %#v form: Go syntax with the URL only.
func (s Server) GoString() string { return "&rekeytest.Server{URL: " + strconv.Quote(s.URL) + "}" }

// Format implements fmt.Formatter so that no verb or flag prints the
// server's state.
func (s Server) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(s.String()))
	default:
		fmt.Fprint(f, s.String())
	}
}

// serveHTTP is the request pipeline: count, tag, inject faults, route.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	w.Header().Set("X-Request-Id", fmt.Sprintf("req_%s%06d", s.reqPrefix, s.reqSeq.Add(1)))
	if s.inject(w, r, s.decide(r.URL.Path == pathKeys)) {
		return
	}
	s.route(w, r)
}

// log writes one line about a finished request; status 0 means no response.
// It never logs a key, the secret or the query string.
func (s *Server) log(w http.ResponseWriter, r *http.Request, status int, note string) {
	l := s.cfg.logger
	if l == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.String("request_id", w.Header().Get("X-Request-Id")),
	}
	if note != "" {
		attrs = append(attrs, slog.String("note", note))
	}
	l.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelInfo, "rekeytest request", attrs...)
}

// Compile-time checks: both Server and *Server redact, and Refresh is a
// credentials.RefreshFunc.
var (
	_ fmt.Formatter           = Server{}
	_ fmt.GoStringer          = (*Server)(nil)
	_ credentials.RefreshFunc = (*Server)(nil).Refresh
)
