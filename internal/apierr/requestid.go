package apierr

import (
	"net/http"
	"strings"
)

// Header request IDs, by what the header's name says. The exact names
// X-Request-Id and Request-Id come first, then any name ending in
// Request-Id (vendor prefixes included: X-Example-Request-Id), then
// Correlation-Id, then Trace-Id, Debug-Id and Transaction-Id, then Uuid.
// A name with "client" in it echoes the caller's own ID and is skipped.
const (
	rankHeaderRequestID = iota
	rankHeaderPrefixedRequestID
	rankHeaderCorrelationID
	rankHeaderTraceID
	rankHeaderUUID
)

// fallbackIDHeaders are the IDs a CDN in front of the API adds to every
// response; they are used when neither the API's headers nor its body
// carry a request ID.
var fallbackIDHeaders = []string{"Cf-Ray", "X-Amz-Cf-Id"}

// requestIDFromHeader returns the request ID of the best-ranked header,
// ties broken by name so that the choice does not depend on map order.
// Of a comma-separated value (a proxy that repeated the header), the first
// element is taken.
func requestIDFromHeader(h http.Header) string {
	best, bestRank, bestName := "", none, ""
	for name, vv := range h {
		r := headerIDRank(name)
		if r == none || len(vv) == 0 || r > bestRank || r == bestRank && name > bestName {
			continue
		}
		if v := firstElement(vv[0]); v != "" {
			best, bestRank, bestName = v, r, name
		}
	}
	return Clean(best)
}

func headerIDRank(name string) int {
	n := normName(name)
	switch {
	case strings.Contains(n, "client"):
		return none
	case n == "xrequestid" || n == "requestid":
		return rankHeaderRequestID
	case strings.HasSuffix(n, "requestid"):
		return rankHeaderPrefixedRequestID
	case strings.HasSuffix(n, "correlationid"):
		return rankHeaderCorrelationID
	case strings.HasSuffix(n, "traceid") || strings.HasSuffix(n, "debugid") || strings.HasSuffix(n, "transactionid"):
		return rankHeaderTraceID
	case strings.HasSuffix(n, "uuid"):
		return rankHeaderUUID
	}
	return none
}

// fallbackRequestID returns the first CDN request ID present.
func fallbackRequestID(h http.Header) string {
	for _, name := range fallbackIDHeaders {
		if v := firstElement(h.Get(name)); v != "" {
			return Clean(v)
		}
	}
	return ""
}

func firstElement(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}
