package gcpsm

import (
	"time"

	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// attempts records what the client's retry loop saw during one call. When a
// deadline ends the loop, the client returns only the deadline's error; this
// keeps the service's last answer (RESOURCE_EXHAUSTED, UNAVAILABLE), so that
// the Provider's error says what was being retried.
type attempts struct {
	failed int   // calls that failed
	answer error // the last failure that was not a deadline or a cancellation
}

// countingRetryer wraps the retryer the client's CallOptions give a method:
// it counts and records each failure, and stops after max calls.
type countingRetryer struct {
	inner gax.Retryer // nil: the method is not retried
	max   int         // 0: no bound beyond the inner retryer's
	seen  *attempts
}

func (r *countingRetryer) Retry(err error) (time.Duration, bool) {
	r.seen.failed++
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		r.seen.answer = err
	}
	if r.inner == nil || (r.max > 0 && r.seen.failed >= r.max) {
		return 0, false
	}
	return r.inner.Retry(err)
}

// retry returns a call option that keeps the retry policy of the client's
// CallOptions for a method (base), bounded by WithRetryMaxAttempts, and the
// record of what it saw. Options given per call come after the client's, so
// this one takes the place of the client's retry setting for this call only.
func (p *Provider) retry(base []gax.CallOption) (gax.CallOption, *attempts) {
	var s gax.CallSettings
	for _, o := range base {
		if o != nil {
			o.Resolve(&s)
		}
	}
	inner, seen := s.Retry, &attempts{}
	return gax.WithRetry(func() gax.Retryer {
		r := &countingRetryer{max: p.cfg.maxAttempts, seen: seen}
		if inner != nil {
			r.inner = inner()
		}
		return r
	}), seen
}
