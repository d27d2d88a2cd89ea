package apierr

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// PoolError is the cause (APIError.Err) of an invalid-key rejection that a
// key pool (credentials.Pool) could not get past: the request was sent with
// the members it lists first, in order, and none served it; the others
// follow, with why they could not. See rekey.PoolError.
type PoolError struct {
	// Members lists each member the request was sent with, in order,
	// then every other member of the pool.
	Members []MemberError
}

// MemberError is what became of one member of a key pool in a request that
// the pool could not serve. See rekey.MemberError.
type MemberError struct {
	// Index is the member's index in the pool, from 0.
	Index int
	// Key is the key the request was sent with (or that the member
	// holds), redacted (credentials.Redact); "" if it has none.
	Key string
	// StatusCode is the API's answer to it: 401 for a rejection, or a
	// status of PoolOptions.FailoverOn, such as 402. It is 0 for a member
	// the request was not sent with, because it was out of rotation
	// already (Err says why).
	StatusCode int
	// Cause is why the API rejected the key, when it said so.
	Cause KeyCause
	// Err is why the member could not serve the request again: its refresh
	// produced no new key (a *credentials.QuarantineError), or it cools
	// down. nil when the request did not wait for it.
	Err error
}

// Error lists each member and what became of it.
func (e *PoolError) Error() string {
	var b strings.Builder
	b.WriteString("rekey: no key of the pool could serve the request: ")
	e.describe(&b)
	return b.String()
}

// describe writes the list of members, for Error and APIError.Error.
func (e *PoolError) describe(b *strings.Builder) {
	for i, m := range e.Members {
		if i > 0 {
			b.WriteString("; ")
		}
		m.describe(b)
	}
}

// describe writes one member's line, as in "[0] rk_live_…9f2c: 401 (key
// revoked), no new key (refresh returned the rejected key again)".
func (m *MemberError) describe(b *strings.Builder) {
	b.WriteString("[")
	b.WriteString(strconv.Itoa(m.Index))
	b.WriteString("] ")
	if m.Key == "" {
		b.WriteString("(no key)")
	} else {
		b.WriteString(m.Key)
	}
	b.WriteString(": ")
	if m.StatusCode == 0 {
		b.WriteString("not sent")
	} else {
		b.WriteString(strconv.Itoa(m.StatusCode))
	}
	if m.Cause != CauseUnknown {
		b.WriteString(" (key ")
		b.WriteString(m.Cause.String())
		b.WriteString(")")
	}
	var q *credentials.QuarantineError
	switch {
	case m.Err == nil:
	case errors.As(m.Err, &q):
		b.WriteString(", no new key (")
		b.WriteString(strings.TrimPrefix(errString(q.Err), "credentials: "))
		b.WriteString("); provider read again after ")
		b.WriteString(q.Until.Format(time.RFC3339))
	default:
		b.WriteString(", ")
		b.WriteString(strings.TrimPrefix(m.Err.Error(), "credentials: "))
	}
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// Unwrap returns the members' errors, for errors.Is and errors.As (to
// credentials.ErrSameKey, say, or a refresh hook's own error).
func (e *PoolError) Unwrap() []error {
	var errs []error
	for _, m := range e.Members {
		if m.Err != nil {
			errs = append(errs, m.Err)
		}
	}
	return errs
}
