package transport

import (
	"context"
	"net/http"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// EventKind names what happened in an [Event].
type EventKind int

// Kinds of events.
const (
	// EventKeyRejected: the API rejected the key; a refresh follows.
	EventKeyRejected EventKind = iota
	// EventReplayed: the key was refreshed and the request is being replayed.
	EventReplayed
	// EventNotReplayed: the key was refreshed but the request could not be
	// replayed (see the event's Reason).
	EventNotReplayed
	// EventReplayRejected: the replay was rejected too; the caller gets the error.
	EventReplayRejected
	// EventFailover: with a credentials.Pool, the request is replayed at
	// once with another member (Member, MemberKey), after the previous
	// member's key was rejected or got a PoolOptions.FailoverOn status
	// (StatusCode).
	EventFailover
	// EventMemberCooldown: with a credentials.Pool, the API answered a
	// status of PoolOptions.FailoverOn (StatusCode) to the member's key;
	// the member is left out for Cooldown.
	EventMemberCooldown
)

// String describes the kind, e.g. "key rejected".
func (k EventKind) String() string {
	switch k {
	case EventKeyRejected:
		return "key rejected"
	case EventReplayed:
		return "request replayed"
	case EventNotReplayed:
		return "request not replayed"
	case EventReplayRejected:
		return "replay rejected"
	case EventFailover:
		return "failover"
	case EventMemberCooldown:
		return "member cooldown"
	}
	return "unknown"
}

// Event reports a step of the recovery path, for logs and metrics. It
// carries no key and no query string.
type Event struct {
	Kind       EventKind
	Method     string
	URL        string // scheme, host and path only
	StatusCode int
	RequestID  string
	Reason     string // for EventNotReplayed
	// Cause says why the API rejected the key, when it says so (a
	// rekey.KeyCause: unknown, invalid, expired or revoked).
	Cause apierr.KeyCause

	// Pooled reports that the Transport's Credentials is a
	// credentials.Pool. Member and MemberKey then name the member the event
	// is about: its index (from 0, in the order given to credentials.NewPool)
	// and its key, redacted (credentials.Redact). That is the member whose
	// key was refused for EventKeyRejected, EventReplayRejected,
	// EventNotReplayed and EventMemberCooldown, and the member the request
	// is sent with now for EventFailover and EventReplayed.
	Pooled    bool
	Member    int
	MemberKey string
	// Cooldown is how long the member is left out, for EventMemberCooldown:
	// the response's Retry-After, or the pool's Quarantine without one.
	Cooldown time.Duration

	// Context is the context of the request the event is about, so that a
	// tracer can put the event on the request's span (see
	// trace.SpanFromContext) and a logger can correlate it. The Transport
	// always sets it; it is not for cancelling anything.
	Context context.Context
}

// emit reports an event about req and its refusal e, for the key m.
func (t *Transport) emit(kind EventKind, req *http.Request, e *apierr.APIError, m credentials.Member) {
	if t.OnEvent == nil {
		return
	}
	ev := Event{
		Kind:       kind,
		Method:     req.Method,
		URL:        apierr.RequestURL(req.URL),
		StatusCode: e.StatusCode,
		RequestID:  e.RequestID,
		Reason:     e.NotReplayed,
		Cause:      e.Cause,
		Context:    req.Context(),
	}
	if t.pool != nil {
		ev.Pooled, ev.Member, ev.MemberKey = true, m.Index, credentials.Redact(m.Credential.Key)
	}
	t.OnEvent(ev)
}

// emitCooldown reports that the member of the refusal r cools down for d.
func (t *Transport) emitCooldown(req *http.Request, r *refusal, d time.Duration) {
	if t.OnEvent == nil {
		return
	}
	ev := Event{
		Kind:       EventMemberCooldown,
		Method:     req.Method,
		URL:        apierr.RequestURL(req.URL),
		StatusCode: r.Err.StatusCode,
		RequestID:  r.Err.RequestID,
		Context:    req.Context(),
		Pooled:     true,
		Member:     r.Key.Index,
		MemberKey:  credentials.Redact(r.Key.Credential.Key),
		Cooldown:   d,
	}
	t.OnEvent(ev)
}
