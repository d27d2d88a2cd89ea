package grpcrekey_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
)

// No key of a pool appears in an error (its text, every fmt verb, its gRPC
// status and details), a log record, a hook event, or any fmt verb of the
// Credentials, the Pool or a Member, even when the server quotes the keys
// it rejects. The log names each member by index and redacted key: the
// first call fails over from the first key to the second, the second call,
// the second key revoked too, gets the typed error.
func TestPoolNoKeyInErrorsOrLogs(t *testing.T) {
	srv := newKeyServer(t, keyB)
	srv.setEcho(true)
	secrets := []string{keyA, keyB}
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pool := credentials.NewPool(newSource(keyA), newSource(keyB))
	client, rk, log := poolClient(t, srv, pool, grpcrekey.WithLogger(logger))

	if _, err := unaryCall(callCtx(t), client, "one"); err != nil {
		t.Fatalf("first call: %v; want it served by the second key", err)
	}
	log.await(t, credentials.MemberQuarantined, 0)
	srv.set(keyB, false)
	_, err := unaryCall(callCtx(t), client, "two")
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("second call: %v; want the typed error, Unauthenticated", err)
	}
	if found := leaks(err, secrets); len(found) > 0 {
		t.Errorf("error shows keys %v: %v", found, err)
	}
	st := status.Convert(err)
	details := fmt.Sprint(st.Proto())
	if found := leaksIn(st.Message()+" "+details, secrets); len(found) > 0 {
		t.Errorf("gRPC status shows keys %v: %q", found, st.Message())
	}
	if !strings.Contains(st.Message(), "[REDACTED]") {
		t.Errorf("status message %q: want the quoted key replaced by [REDACTED]", st.Message())
	}

	events, members, refresh := log.all()
	text := fmt.Sprintf("%+v %+v %+v %v %v %v", events, members, refresh, fmtAll(rk), fmtAll(pool), fmtAll(credentials.Member{Index: 1, Credential: credentials.Credential{Key: keyB}}))
	if found := leaksIn(text, secrets); len(found) > 0 {
		t.Errorf("events or fmt verbs show keys %v", found)
	}
	logged := logs.String()
	if found := leaksIn(logged, secrets); len(found) > 0 {
		t.Errorf("log shows keys %v:\n%s", found, logged)
	}
	for _, want := range []string{
		`"msg":"rekey: API key rejected; failing over, refreshing it in the background"`,
		`"msg":"rekey: gRPC call replayed with another key of the pool","method":"/grpc.testing.TestService/UnaryCall"`,
		`"member":1,"member_key":"` + credentials.Redact(keyB) + `"`,
		`"msg":"rekey: pool key quarantined: its refresh produced no new key","member":0,"member_key":"` + credentials.Redact(keyA) + `"`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %s:\n%s", want, logged)
		}
	}
}
