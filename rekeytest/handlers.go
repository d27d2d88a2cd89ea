package rekeytest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// InvalidKeyBody is the exact body of every 401 answer to a missing, unknown,
// expired or revoked API key, sent with Content-Type: application/json. It is
// the rejection rekey exists to recover from.
const InvalidKeyBody = `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`

// The endpoints. Every path except pathKeys is an API endpoint, protected by
// an API key.
const (
	pathKeys      = "/v1/keys"      // POST, with the account secret: mint a key
	pathEcho      = "/v1/echo"      // GET, POST, PUT: echo the request
	pathKey       = "/v1/key"       // GET: the presented key's status
	pathForbidden = "/v1/forbidden" // GET: a 403 that is not about the key
)

// maxBody bounds the echo body the server reads.
const maxBody = 1 << 20

// errorBody is the JSON error shape of every non-2xx answer but the 401s with
// fixed bodies.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// route serves a request that fault injection let through.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == pathKeys {
		s.serveKeys(w, r)
		return
	}
	key, rec, ok := s.authenticate(r)
	if !ok {
		s.stats.rejections.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="rekeytest", error="invalid_token"`)
		s.writeRaw(w, r, http.StatusUnauthorized, []byte(InvalidKeyBody), "")
		return
	}
	s.stats.accepted.Add(1)
	switch r.URL.Path {
	case pathEcho:
		switch r.Method {
		case http.MethodGet:
			s.writeRaw(w, r, http.StatusOK, echoJSON(r, false, nil), "")
		case http.MethodPost, http.MethodPut:
			s.serveEchoBody(w, r)
		default:
			s.notAllowed(w, r, "GET, POST, PUT")
		}
	case pathKey:
		if r.Method != http.MethodGet {
			s.notAllowed(w, r, "GET")
			return
		}
		s.writeJSON(w, r, http.StatusOK, keyStatus{
			Valid:       true,
			RedactedKey: credentials.Redact(key),
			IssuedAt:    rec.issued.UTC().Format(time.RFC3339Nano),
			ExpiresAt:   expiresAt(rec.expires),
		})
	case pathForbidden:
		s.writeError(w, r, http.StatusForbidden, "Forbidden", "This key lacks the admin scope.", "")
	default:
		s.writeError(w, r, http.StatusNotFound, "Not Found", "There is no endpoint at this path.", "")
	}
}

// presentedKey finds the API key in the request: "Authorization: Bearer
// <key>" (scheme case-insensitive; other schemes are ignored), or HTTP
// Basic auth with the key as the password or the user name (the half that
// starts with KeyPrefix, else the password), else the X-API-Key header,
// else the api_key query parameter.
func presentedKey(r *http.Request) string {
	if scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return key
	}
	if user, password, ok := r.BasicAuth(); ok {
		if strings.HasPrefix(user, KeyPrefix) && !strings.HasPrefix(password, KeyPrefix) {
			return user
		}
		return password
	}
	if key := r.Header.Get("X-API-Key"); key != "" {
		return key
	}
	return r.URL.Query().Get("api_key")
}

// authenticate reports whether the request carries a key that was issued,
// has not been revoked and has not expired.
func (s *Server) authenticate(r *http.Request) (string, keyRecord, bool) {
	key := presentedKey(r)
	rec, ok := s.lookup(key)
	if !ok || rec.expired(s.cfg.now()) {
		return "", keyRecord{}, false
	}
	return key, rec, true
}

// issued is the answer to POST /v1/keys.
type issued struct {
	Key       string  `json:"key"`
	ExpiresAt *string `json:"expires_at"` // RFC 3339 with nanoseconds; null: never
}

// keyStatus is the answer to GET /v1/key.
type keyStatus struct {
	Valid       bool    `json:"valid"`
	RedactedKey string  `json:"redacted_key"`
	IssuedAt    string  `json:"issued_at"`
	ExpiresAt   *string `json:"expires_at"`
}

// expiresAt renders an expiry for JSON: nanosecond precision, so that a
// short TTL survives the trip; nil (null) for a key that never expires.
func expiresAt(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// serveKeys mints a key for a request bearing the account secret.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.accountSecret)) != 1 {
		s.stats.accountRejections.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="rekeytest account"`)
		s.writeError(w, r, http.StatusUnauthorized, "Invalid Account Secret",
			"Creating API keys requires the account secret as Authorization: Bearer <secret>; an API key cannot create keys.", "")
		return
	}
	if r.Method != http.MethodPost {
		s.notAllowed(w, r, "POST")
		return
	}
	cred := s.IssueKey()
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusCreated, issued{Key: cred.Key, ExpiresAt: expiresAt(cred.Expiry)})
}

// echo is the answer of /v1/echo, without the body.
type echo struct {
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  map[string][]string `json:"query"` // without api_key
}

// echoJSON renders the echo of r. For POST and PUT, body (valid JSON, or
// empty for null) is spliced in as "body" byte for byte: encoding/json
// would compact and escape it, and the echo must be the body as received.
func echoJSON(r *http.Request, withBody bool, body []byte) []byte {
	q := r.URL.Query()
	q.Del("api_key")
	b, _ := json.Marshal(echo{Method: r.Method, Path: r.URL.Path, Query: q}) // strings only: cannot fail
	if !withBody {
		return b
	}
	if len(body) == 0 {
		body = []byte("null")
	}
	out := make([]byte, 0, len(b)+len(body)+16)
	out = append(out, b[:len(b)-1]...) // drop the closing brace
	out = append(out, `,"body":`...)
	out = append(out, body...)
	return append(out, '}')
}

// serveEchoBody echoes a JSON body back and records it for Bodies.
func (s *Server) serveEchoBody(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.writeError(w, r, http.StatusRequestEntityTooLarge, "Request Entity Too Large", "The request body is larger than 1 MiB.", "")
		return
	case err != nil:
		s.writeError(w, r, http.StatusBadRequest, "Bad Request", "The request body could not be read.", "")
		return
	}
	if len(body) > 0 && !json.Valid(body) {
		s.writeError(w, r, http.StatusBadRequest, "Bad Request", "The request body is not valid JSON.", "")
		return
	}
	if s.serveIdempotent(w, r, body) {
		return
	}
	s.bodies.add(body)
	s.writeRaw(w, r, http.StatusOK, echoJSON(r, true, body), "")
}

func (s *Server) notAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	s.writeError(w, r, http.StatusMethodNotAllowed, "Method Not Allowed", "This endpoint accepts "+allow+".", "")
}

// writeError sends {"error": code, "message": message}; note goes to the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, code, message, note string) {
	b, _ := json.Marshal(errorBody{Error: code, Message: message}) // two strings: cannot fail
	s.writeRaw(w, r, status, b, note)
}

// writeJSON sends v, one of this file's response types, as JSON.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("rekeytest: encoding a response: " + err.Error()) // our own types: cannot happen
	}
	s.writeRaw(w, r, status, b, "")
}

// writeRaw sends a JSON answer and logs it.
func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, status int, body []byte, note string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client may be gone; nothing to do
	s.log(w, r, status, note)
}
