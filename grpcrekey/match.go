package grpcrekey

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A Matcher reports whether a call's error status is the invalid-key
// rejection: the answer that makes the Credentials refresh the key and
// replay the call. It sees the status of every failed call (never an OK
// one), with its details; it must be fast, must not block, and must be safe
// for concurrent use. Matching too much costs a refresh per failed call,
// and on many APIs a refresh mints a new key and revokes the old one.
type Matcher func(st *status.Status) bool

// IsInvalidKeyRejection is the default [Matcher]. An Unauthenticated status
// is a rejection unless its reason and message speak only of what a valid
// key may do (a scope, a permission, a quota), which a new key would not
// change. A PermissionDenied or an InvalidArgument is one
// only when it says, in so many words, that the key (or token, or
// credentials) is invalid, expired, revoked, unknown or disabled: in the
// reason of a google.rpc.ErrorInfo detail (Google's API_KEY_INVALID and
// API_KEY_EXPIRED) or in the status message ("API key not valid. Please
// pass a valid API key."). A PermissionDenied about a permission or scope
// ("etcdserver: permission denied", Google's API_KEY_SERVICE_BLOCKED), an
// InvalidArgument about the request, and every other code pass through.
func IsInvalidKeyRejection(st *status.Status) bool {
	switch st.Code() {
	case codes.Unauthenticated:
		d := decodeDetails(st)
		return isRejection(true, d.reason, st.Message())
	case codes.PermissionDenied, codes.InvalidArgument:
		d := decodeDetails(st)
		return isRejection(false, d.reason, st.Message())
	}
	return false
}

// StatusMessage returns a [Matcher] for an API's own rejection: a status
// with code whose message contains text. etcd, for example, answers a call
// made with a token older than its auth store's last change (a password
// changed, a permission revoked) with InvalidArgument "etcdserver: revision
// of auth store is old"; logging in again cures it, as etcd's own Go client
// does:
//
//	grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
//		grpcrekey.StatusMessage(codes.InvalidArgument, "etcdserver: revision of auth store is old"))
func StatusMessage(code codes.Code, text string) Matcher {
	return func(st *status.Status) bool {
		return st.Code() == code && strings.Contains(st.Message(), text)
	}
}

// ErrorInfoReason returns a [Matcher] for a status with a
// google.rpc.ErrorInfo detail whose reason is one of reasons (and, if
// domain is not empty, whose domain is domain), whatever its code: for
// APIs that follow Google's AIP-193 with reasons of their own.
func ErrorInfoReason(domain string, reasons ...string) Matcher {
	return func(st *status.Status) bool {
		d := decodeDetails(st)
		if d.reason == "" || (domain != "" && d.domain != domain) {
			return false
		}
		for _, r := range reasons {
			if d.reason == r {
				return true
			}
		}
		return false
	}
}

// AnyOf returns a [Matcher] that reports a rejection when any of ms does,
// trying them in order.
func AnyOf(ms ...Matcher) Matcher {
	return func(st *status.Status) bool {
		for _, m := range ms {
			if m != nil && m(st) {
				return true
			}
		}
		return false
	}
}
