package grpcrekey_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/grpcrekey"
)

func withInfo(code codes.Code, msg, reason, domain string) *status.Status {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: domain})
	if err != nil {
		panic(err)
	}
	return st
}

// TestMatchers: which statuses each ready-made matcher takes for the
// invalid-key rejection. The statuses are the servers' own: Google's
// (AIP-193 reasons), etcd's (rpctypes), and common payload and permission
// errors that must pass through.
func TestMatchers(t *testing.T) {
	etcd := grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
		grpcrekey.StatusMessage(codes.InvalidArgument, "etcdserver: revision of auth store is old"))
	custom := grpcrekey.ErrorInfoReason("api.example.com", "TOKEN_STALE")
	cases := []struct {
		name                    string
		st                      *status.Status
		byDefault, etcd, custom bool
	}{
		{"Unauthenticated, any message", status.New(codes.Unauthenticated, "etcdserver: invalid auth token"), true, true, false},
		{"Unauthenticated, no message", status.New(codes.Unauthenticated, ""), true, true, false},
		{"Unauthenticated about a scope only", status.New(codes.Unauthenticated, "Request had insufficient authentication scopes."), false, false, false},
		{"Invalid access token without the scopes", status.New(codes.InvalidArgument, "Invalid access token, does not contain scopes"), false, false, false},
		{"Google API_KEY_INVALID", withInfo(codes.InvalidArgument, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID", "googleapis.com"), true, true, false},
		{"Google API_KEY_EXPIRED, reason only", withInfo(codes.InvalidArgument, "", "API_KEY_EXPIRED", "googleapis.com"), true, true, false},
		{"PermissionDenied saying the key is revoked", status.New(codes.PermissionDenied, "The API key has been revoked"), true, true, false},
		{"Google API_KEY_SERVICE_BLOCKED", withInfo(codes.PermissionDenied, "Requests to this API are blocked.", "API_KEY_SERVICE_BLOCKED", "googleapis.com"), false, false, false},
		{"etcd permission denied", status.New(codes.PermissionDenied, "etcdserver: permission denied"), false, false, false},
		{"etcd old auth revision", status.New(codes.InvalidArgument, "etcdserver: revision of auth store is old"), false, true, false},
		{"payload error naming tokens", status.New(codes.InvalidArgument, "invalid request: max_tokens must be at least 1"), false, false, false},
		{"Unavailable", status.New(codes.Unavailable, "connection refused"), false, false, false},
		{"custom reason, its domain", withInfo(codes.FailedPrecondition, "stale", "TOKEN_STALE", "api.example.com"), false, false, true},
		{"custom reason, another domain", withInfo(codes.FailedPrecondition, "stale", "TOKEN_STALE", "other.example.com"), false, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := grpcrekey.IsInvalidKeyRejection(tc.st); got != tc.byDefault {
				t.Errorf("IsInvalidKeyRejection = %v; want %v", got, tc.byDefault)
			}
			if got := etcd(tc.st); got != tc.etcd {
				t.Errorf("etcd's matcher = %v; want %v", got, tc.etcd)
			}
			if got := custom(tc.st); got != tc.custom {
				t.Errorf("ErrorInfoReason = %v; want %v", got, tc.custom)
			}
		})
	}
}
