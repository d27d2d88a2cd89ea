package rekeytest

import (
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of what a [Server] has seen since it started. It holds
// counts only, never a key or secret.
type Stats struct {
	// Requests counts every HTTP request received, on any path, including
	// those answered by an injected fault.
	Requests int64
	// Accepted counts requests to the API whose key was valid, whatever the
	// endpoint then answered (a /v1/forbidden 403 is Accepted: the key was
	// fine, the permission was not).
	Accepted int64
	// Rejections counts 401 Invalid API Key answers: missing, unknown,
	// expired and revoked keys.
	Rejections int64
	// AccountRejections counts 401 Invalid Account Secret answers from
	// POST /v1/keys.
	AccountRejections int64
	// KeysIssued counts keys minted, over HTTP or by [Server.IssueKey].
	KeysIssued int64
	// KeysRevoked counts keys revoked by [Server.Revoke], [Server.RotateAll],
	// background rotation and [WithRevokeOnIssue].
	KeysRevoked int64
	// Rotations counts calls of [Server.RotateAll], including background ones.
	Rotations int64
	// IdempotentReplays counts requests answered from the answer to an
	// earlier request with the same Idempotency-Key, not performed again
	// ([WithIdempotency]).
	IdempotentReplays int64
	// LiveKeys is the number of keys valid at the time of the snapshot.
	LiveKeys int
	// Faults counts the faults injected, by kind.
	Faults FaultCounts
}

// FaultCounts counts injected faults by kind. A request that is both delayed
// and then failed counts in Delayed and in its failure.
type FaultCounts struct {
	// Burst counts answers forced by [Server.FailNext].
	Burst int64
	// Unavailable counts 503 answers drawn from [Faults].UnavailableRate.
	Unavailable int64
	// Dropped counts connections closed with no response, drawn from
	// [Faults].DropRate. net/http clients retry some idempotent requests on
	// a fresh connection, so one client call can count more than once.
	Dropped int64
	// Delayed counts requests slowed by [Faults].Delay or Jitter.
	Delayed int64
}

// Total is the number of requests answered by a fault (Burst, Unavailable
// or Dropped); delays alone are not counted, the request still succeeds.
func (c FaultCounts) Total() int64 { return c.Burst + c.Unavailable + c.Dropped }

// counters are the live, atomically updated numbers behind Stats.
type counters struct {
	requests, accepted, rejections, accountRejections atomic.Int64
	keysIssued, keysRevoked, rotations                atomic.Int64
	idempotentReplays                                 atomic.Int64
	burst, unavailable, dropped, delayed              atomic.Int64
}

// bodyLog records accepted echo bodies in arrival order.
type bodyLog struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (l *bodyLog) add(b []byte) {
	l.mu.Lock()
	l.bodies = append(l.bodies, b)
	l.mu.Unlock()
}

// Stats returns a snapshot of the server's counters. Each field is read
// atomically, but the fields are not read together: under concurrent load a
// snapshot may be mid-request (say, Requests counted but not yet Accepted).
// Read it after the clients are done for exact sums. Safe for concurrent use.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests:          c.requests.Load(),
		Accepted:          c.accepted.Load(),
		Rejections:        c.rejections.Load(),
		AccountRejections: c.accountRejections.Load(),
		KeysIssued:        c.keysIssued.Load(),
		KeysRevoked:       c.keysRevoked.Load(),
		Rotations:         c.rotations.Load(),
		IdempotentReplays: c.idempotentReplays.Load(),
		LiveKeys:          s.liveKeys(),
		Faults: FaultCounts{
			Burst:       c.burst.Load(),
			Unavailable: c.unavailable.Load(),
			Dropped:     c.dropped.Load(),
			Delayed:     c.delayed.Load(),
		},
	}
}

// Bodies returns the request bodies of the POST and PUT /v1/echo requests
// that were performed (answered 200), exactly as received and in the order
// the server accepted them, so a test can check that nothing was lost,
// duplicated or altered. A body sent twice (a replay after a refresh, say)
// appears twice only if it was accepted twice; with [WithIdempotency], a
// repeat under the same Idempotency-Key is answered without being performed
// and does not appear again. The result is a copy. Safe for concurrent
// use.
func (s *Server) Bodies() [][]byte {
	s.bodies.mu.Lock()
	defer s.bodies.mu.Unlock()
	out := make([][]byte, len(s.bodies.bodies))
	for i, b := range s.bodies.bodies {
		out[i] = append([]byte(nil), b...)
	}
	return out
}
