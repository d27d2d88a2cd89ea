package grpcrekey_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

func unaryCall(ctx context.Context, c testgrpc.TestServiceClient, body string) (string, error) {
	resp, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte(body)}})
	if err != nil {
		return "", err
	}
	return string(resp.GetPayload().GetBody()), nil
}

// TestGoogleRejectionRecovers: a key that Google's API no longer takes,
// whether revoked (API_KEY_INVALID) or expired (API_KEY_EXPIRED), is
// refreshed once and the call replayed; the hooks see the rejection with
// its cause, request ID, method and server. Without the refresh the call
// would fail: the control case, a key the server still takes, costs
// nothing.
func TestGoogleRejectionRecovers(t *testing.T) {
	cases := []struct {
		name      string
		invalidIt func(*googleAPI)
		cause     rekey.KeyCause
		rejected  int64
	}{
		{name: "key still valid (control)", invalidIt: func(*googleAPI) {}, cause: rekey.CauseUnknown},
		{name: "key revoked", invalidIt: func(a *googleAPI) { a.rotate() }, cause: rekey.CauseInvalid, rejected: 1},
		{name: "key expired", invalidIt: (*googleAPI).expire, cause: rekey.CauseExpired, rejected: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newGoogleAPI(t)
			rk, rec := newCredentials(t, api)
			client := api.dial(t, rk.DialOptions())
			ctx := callCtx(t)
			if got, err := unaryCall(ctx, client, "warm-up"); err != nil || got != "warm-up" {
				t.Fatalf("first call = %q, %v", got, err)
			}
			tc.invalidIt(api)
			got, err := unaryCall(ctx, client, "hello")
			if err != nil || got != "hello" {
				t.Fatalf("call after the key went bad = %q, %v; want it recovered", got, err)
			}
			if n := api.mints.Load(); n != tc.rejected {
				t.Errorf("%d keys minted; want %d", n, tc.rejected)
			}
			if n := api.rejected.Load(); n != tc.rejected {
				t.Errorf("server rejected %d calls; want %d", n, tc.rejected)
			}
			if n := api.calls.Load(); n != 2+tc.rejected {
				t.Errorf("server saw %d calls; want %d", n, 2+tc.rejected)
			}
			if tc.rejected == 0 {
				if k := rec.kinds(); len(k) != 0 {
					t.Errorf("events %v; want none", k)
				}
				return
			}
			want := []transport.EventKind{transport.EventKeyRejected, transport.EventReplayed}
			if k := rec.kinds(); !slices.Equal(k, want) {
				t.Fatalf("events %v; want %v", k, want)
			}
			ev := rec.first()
			if ev.Method != "/grpc.testing.TestService/UnaryCall" || ev.URL != "grpc://"+api.addr+"/grpc.testing.TestService/UnaryCall" ||
				ev.StatusCode != http.StatusBadRequest || ev.Cause != tc.cause || !strings.HasPrefix(ev.RequestID, "req-") || ev.Context == nil {
				t.Errorf("rejection event %+v; want the method, grpc://%s, 400, cause %v, a request ID and the call's context", ev, api.addr, tc.cause)
			}
		})
	}
}

// TestPassThrough: statuses that are not the invalid-key rejection reach
// the caller untouched, without a refresh: a PermissionDenied about what
// the key may do (Google's API_KEY_SERVICE_BLOCKED), an InvalidArgument
// about the request, and Unimplemented.
func TestPassThrough(t *testing.T) {
	api := newGoogleAPI(t)
	rk, rec := newCredentials(t, api)
	conn := dialConn(t, api.addr, insecureCreds(), rk.DialOptions())
	client := testgrpc.NewTestServiceClient(conn)
	ctx := callCtx(t)

	api.setBlocked(true)
	_, err := unaryCall(ctx, client, "x")
	if status.Code(err) != codes.PermissionDenied || errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Errorf("blocked key: %v; want PermissionDenied passed through", err)
	}
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); !ok || errors.As(err, new(*grpcrekey.Error)) {
		t.Errorf("blocked key: error %T; want grpc's own status error", err)
	}
	api.setBlocked(false)

	_, err = testgrpc.NewUnimplementedServiceClient(conn).UnimplementedCall(ctx, &testgrpc.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("unimplemented: %v", err)
	}
	if n := api.mints.Load(); n != 0 {
		t.Errorf("%d keys minted; want 0", n)
	}
	if k := rec.kinds(); len(k) != 0 {
		t.Errorf("events %v; want none", k)
	}
}

// TestRecoveryFails: what the caller gets when recovery cannot help. The
// error matches rekey.ErrInvalidAPIKey (and ErrRefreshFailed with the
// hook's error when the refresh failed) and keeps the server's status,
// details included; it shows no key.
func TestRecoveryFails(t *testing.T) {
	hookErr := errors.New("key service down")
	cases := []struct {
		name          string
		refresh       func(api *googleAPI) credentials.RefreshFunc
		replayed      bool
		refreshFailed bool
		events        []transport.EventKind
	}{
		{
			name: "the new key is rejected too",
			refresh: func(api *googleAPI) credentials.RefreshFunc {
				return func(context.Context, credentials.Credential) (credentials.Credential, error) {
					return credentials.Credential{Key: "AIzaSyNotValidEither-" + newSecret()}, nil
				}
			},
			replayed: true,
			events:   []transport.EventKind{transport.EventKeyRejected, transport.EventReplayed, transport.EventReplayRejected},
		},
		{
			name: "the refresh fails",
			refresh: func(*googleAPI) credentials.RefreshFunc {
				return func(context.Context, credentials.Credential) (credentials.Credential, error) {
					return credentials.Credential{}, credentials.Permanent(hookErr)
				}
			},
			refreshFailed: true,
			events:        []transport.EventKind{transport.EventKeyRejected},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newGoogleAPI(t)
			first := api.current()
			api.rotate() // the first key is dead before the first call
			rec := &recorder{}
			rk, err := grpcrekey.New(credentials.Static(first), grpcrekey.WithMetadataKey("x-goog-api-key"),
				grpcrekey.WithRefresh(tc.refresh(api)), grpcrekey.WithHooks(rec.hooks()))
			if err != nil {
				t.Fatal(err)
			}
			defer rk.Close()
			client := api.dial(t, rk.DialOptions())
			_, err = unaryCall(callCtx(t), client, "x")

			var rkErr *grpcrekey.Error
			var apiErr *rekey.APIError
			switch {
			case err == nil:
				t.Fatal("call succeeded; want the rejection")
			case !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &rkErr) || !errors.As(err, &apiErr):
				t.Fatalf("%v (%T) does not match rekey.ErrInvalidAPIKey, *grpcrekey.Error and *rekey.APIError", err, err)
			case errors.Is(err, rekey.ErrRefreshFailed) != tc.refreshFailed || errors.Is(err, hookErr) != tc.refreshFailed:
				t.Errorf("%v: matches ErrRefreshFailed %v and the hook's error %v; want %v", err, errors.Is(err, rekey.ErrRefreshFailed), errors.Is(err, hookErr), tc.refreshFailed)
			case apiErr.Replayed != tc.replayed || apiErr.RefreshFailed != tc.refreshFailed:
				t.Errorf("Replayed %v, RefreshFailed %v; want %v, %v", apiErr.Replayed, apiErr.RefreshFailed, tc.replayed, tc.refreshFailed)
			}
			checkGoogleStatus(t, err)
			if apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "API_KEY_INVALID" || apiErr.Cause != rekey.CauseInvalid ||
				apiErr.Message != "API key not valid. Please pass a valid API key." || !strings.HasPrefix(apiErr.RequestID, "req-") {
				t.Errorf("APIError %+v; want 400 API_KEY_INVALID, Google's message, cause invalid and a request ID", *apiErr)
			}
			if !strings.Contains(err.Error(), "/grpc.testing.TestService/UnaryCall (InvalidArgument API_KEY_INVALID)") {
				t.Errorf("error text %q does not name the method, code and reason", err)
			}
			if k := rec.kinds(); !slices.Equal(k, tc.events) {
				t.Errorf("events %v; want %v", k, tc.events)
			}
			if l := leaks(err, append(api.secrets(), first)); len(l) > 0 {
				t.Errorf("error shows keys %v: %v", l, err)
			}
		})
	}
}

// checkGoogleStatus checks that err keeps the status the fake Google API
// sent for an invalid key, details included.
func checkGoogleStatus(t *testing.T, err error) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || st.Message() != "API key not valid. Please pass a valid API key." {
		t.Errorf("status %v %q; want the server's InvalidArgument and message", st.Code(), st.Message())
	}
	var info *errdetails.ErrorInfo
	var req *errdetails.RequestInfo
	var loc *errdetails.LocalizedMessage
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RequestInfo:
			req = d
		case *errdetails.LocalizedMessage:
			loc = d
		}
	}
	if info == nil || info.GetReason() != "API_KEY_INVALID" || info.GetDomain() != "googleapis.com" || info.GetMetadata()["service"] != googleService {
		t.Errorf("ErrorInfo %v; want the server's", info)
	}
	if req == nil || !strings.HasPrefix(req.GetRequestId(), "req-") || loc == nil {
		t.Errorf("RequestInfo %v, LocalizedMessage %v; want the server's", req, loc)
	}
}
