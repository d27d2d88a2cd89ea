package rekeytest

import (
	"bytes"
	"net/http"
	"sync"
)

// IdempotencyKeyHeader is the request header that [WithIdempotency] makes
// the server honour, as Stripe's API does.
const IdempotencyKeyHeader = "Idempotency-Key"

// IdempotentReplayedHeader is set to "true" on an answer replayed for a
// repeated Idempotency-Key, as Stripe's API sets it.
const IdempotentReplayedHeader = "Idempotent-Replayed"

// idempotency remembers, per Idempotency-Key, the request that was performed
// and the answer it got, for [WithIdempotency].
type idempotency struct {
	mu   sync.Mutex
	seen map[string]performed
}

// performed is a request that was performed once, and its answer.
type performed struct {
	method, path string
	body         []byte
	answer       []byte
}

// perform runs do for a request with body under key, unless a request with
// the same key was performed before: then it returns that request's answer
// and replayed true, or, for a different method, path or body, conflict
// true. do runs under the lock, so two requests with one key never both
// run it.
func (p *idempotency) perform(key string, r *http.Request, body []byte, do func() []byte) (answer []byte, replayed, conflict bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.seen[key]; ok {
		if prev.method != r.Method || prev.path != r.URL.Path || !bytes.Equal(prev.body, body) {
			return nil, false, true
		}
		return prev.answer, true, false
	}
	answer = do()
	if p.seen == nil {
		p.seen = make(map[string]performed)
	}
	p.seen[key] = performed{method: r.Method, path: r.URL.Path, body: body, answer: answer}
	return answer, false, false
}

// serveIdempotent answers a POST or PUT /v1/echo whose body was read and
// found valid, honouring its Idempotency-Key when [WithIdempotency] is on.
// It reports false when there is no key to honour: the caller performs the
// request as usual.
func (s *Server) serveIdempotent(w http.ResponseWriter, r *http.Request, body []byte) bool {
	key := r.Header.Get(IdempotencyKeyHeader)
	if !s.cfg.idempotency || key == "" {
		return false
	}
	answer, replayed, conflict := s.idem.perform(key, r, body, func() []byte {
		s.bodies.add(body)
		return echoJSON(r, true, body)
	})
	switch {
	case conflict:
		s.writeError(w, r, http.StatusUnprocessableEntity, "Idempotency Key Reused",
			"This Idempotency-Key was used with a different request; use a new key for a new request.", "idempotency conflict")
	case replayed:
		s.stats.idempotentReplays.Add(1)
		w.Header().Set(IdempotentReplayedHeader, "true")
		s.writeRaw(w, r, http.StatusOK, answer, "idempotent replay")
	default:
		s.writeRaw(w, r, http.StatusOK, answer, "")
	}
	return true
}
