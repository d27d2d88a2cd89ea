package transport

import (
	"context"
	"net/http"

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

	// Context is the context of the request the event is about, so that a
	// tracer can put the event on the request's span (see
	// trace.SpanFromContext) and a logger can correlate it. The Transport
	// always sets it; it is not for cancelling anything.
	Context context.Context
}

func (t *Transport) emit(kind EventKind, req *http.Request, e *apierr.APIError) {
	if t.OnEvent == nil {
		return
	}
	t.OnEvent(Event{
		Kind:       kind,
		Method:     req.Method,
		URL:        apierr.RequestURL(req.URL),
		StatusCode: e.StatusCode,
		RequestID:  e.RequestID,
		Reason:     e.NotReplayed,
		Cause:      e.Cause,
		Context:    req.Context(),
	})
}
