package grpcrekey

import (
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// The text classifier is rekey's, shared with the HTTP transport: these two
// functions are the only calls into it, so that a new decoder replaces them
// here alone.

// isRejection applies rekey's one rule (apierr.Classify, shared with the
// HTTP transport) to a reason (an ErrorInfo reason, or empty) and a status
// message. authFailed says the code itself reports failed authentication
// (Unauthenticated): then only words about what a valid key may do (scope,
// permission, quota...) veto it; otherwise the words must say that the key
// is invalid, expired or revoked.
func isRejection(authFailed bool, reason, message string) bool {
	rejection, _ := apierr.Classify(authFailed, reason, message)
	return rejection
}

// causeOf returns why the key was rejected, as far as reason and message
// say.
func causeOf(reason, message string) apierr.KeyCause { return apierr.CauseOf(reason, message) }

// Type URLs of the google.rpc error details read here (AIP-193,
// https://google.aip.dev/193; google/rpc/error_details.proto).
const (
	errorInfoURL   = "type.googleapis.com/google.rpc.ErrorInfo"
	requestInfoURL = "type.googleapis.com/google.rpc.RequestInfo"
	retryInfoURL   = "type.googleapis.com/google.rpc.RetryInfo"
)

// details are the facts read from a status's google.rpc details: the first
// ErrorInfo's reason and domain, the first RequestInfo's request ID, the
// first RetryInfo's delay ("clients should wait at least this long between
// retrying the same request"; zero when absent, negative or invalid).
type details struct {
	reason, domain, requestID string
	retryDelay                time.Duration
}

// decodeDetails reads the ErrorInfo and RequestInfo details of st, if any.
// Details it cannot decode are skipped.
func decodeDetails(st *status.Status) details {
	var d details
	for _, a := range st.Proto().GetDetails() {
		switch a.GetTypeUrl() {
		case errorInfoURL:
			var ei errdetails.ErrorInfo
			if d.reason == "" && proto.Unmarshal(a.GetValue(), &ei) == nil {
				d.reason, d.domain = apierr.Clean(ei.GetReason()), apierr.Clean(ei.GetDomain())
			}
		case requestInfoURL:
			var ri errdetails.RequestInfo
			if d.requestID == "" && proto.Unmarshal(a.GetValue(), &ri) == nil {
				d.requestID = apierr.Clean(ri.GetRequestId())
			}
		case retryInfoURL:
			var ri errdetails.RetryInfo
			if d.retryDelay == 0 && proto.Unmarshal(a.GetValue(), &ri) == nil && ri.GetRetryDelay().IsValid() {
				d.retryDelay = max(ri.GetRetryDelay().AsDuration(), 0)
			}
		}
	}
	return d
}

// codeName is the name google.rpc.Code gives c, as Google's JSON errors
// carry it in "status": "UNAUTHENTICATED", "PERMISSION_DENIED".
func codeName(c codes.Code) string {
	if c > codes.Unauthenticated {
		return c.String()
	}
	return code.Code(c).String()
}

// httpStatus is the HTTP status that google/rpc/code.proto maps c to
// (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto),
// so that an error from a gRPC call reads, in rekey.APIError.StatusCode
// and in hooks and metrics, as the same answer over HTTP would.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499 // "Client Closed Request", as code.proto says
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError // Unknown, Internal, DataLoss, and codes beyond those
}
