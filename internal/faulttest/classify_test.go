package faulttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// faultClass names the class of a failed request's error, or returns ""
// for an error that is none of those a caller is promised, each of which
// tells the caller what to do:
//
//   - "invalid key": the API rejected the key, rekey refreshed it and
//     replayed once, and the replay was rejected too (a rotation overtook
//     it); "invalid key, cooling down": a request rejected with that same
//     key within the RejectedKeyCooldown after; "refresh failed": no new
//     key could be had;
//   - "server error", "rate limited": a 5xx or 429 that outlasted the
//     retries;
//   - "connection, retries ran out", "connection, not retried" (a POST
//     without an Idempotency-Key: the API may have performed it),
//     "connection, body cut" (the API answered, the body did not arrive):
//     a *rekey.ConnectionError, alone or in a *rekey.RetryError;
//   - "timeout": the caller's own deadline.
//
// A bare "EOF" or "connection reset by peer" from net/http, without
// rekey's explanation, is unclassified, as is every error whose message
// does not start with "rekey: " but for a timeout.
func faultClass(err error) string {
	if err == nil {
		return ""
	}
	var connErr *rekey.ConnectionError
	var retryErr *rekey.RetryError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case !strings.HasPrefix(err.Error(), "rekey: "):
		return ""
	case errors.Is(err, credentials.ErrRefreshedKeyRejected):
		// A rotation overtook a replay, and requests with that key came
		// back within the RejectedKeyCooldown.
		return "invalid key, cooling down"
	case errors.Is(err, rekey.ErrRefreshFailed):
		return "refresh failed"
	case errors.Is(err, rekey.ErrInvalidAPIKey):
		return "invalid key"
	case errors.Is(err, rekey.ErrRateLimited):
		return "rate limited"
	case errors.Is(err, rekey.ErrServer):
		return "server error"
	case !errors.Is(err, rekey.ErrConnection) || !errors.As(err, &connErr):
		return ""
	case connErr.StatusCode != 0:
		return "connection, body cut"
	case errors.As(err, &retryErr):
		return "connection, retries ran out"
	case connErr.NotRetried != "":
		return "connection, not retried"
	}
	return ""
}

// classText renders counts by class, sorted, "none" for none.
func classText(classes map[string]int) string {
	if len(classes) == 0 {
		return "none"
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, c := range names {
		name := c
		if name == "" {
			name = "UNCLASSIFIED"
		}
		parts[i] = fmt.Sprintf("%d %s", classes[c], name)
	}
	return strings.Join(parts, ", ")
}
