package rekeytest_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
)

func TestFmtNeverPrintsKeysOrTheSecret(t *testing.T) {
	srv := newServer(t, rekeytest.WithKeyTTL(time.Hour))
	key := srv.IssueKey().Key
	secrets := []string{key, srv.AccountSecret()}
	type holder struct { // unexported fields are printed by reflection, not Format
		Srv    *rekeytest.Server
		ptr    *rekeytest.Server
		val    rekeytest.Server
		Stats  rekeytest.Stats
		Faults rekeytest.Faults
	}
	values := map[string]any{
		"*Server":            srv,
		"Server":             *srv,
		"Stats":              srv.Stats(),
		"struct holding all": holder{Srv: srv, ptr: srv, val: *srv, Stats: srv.Stats()},
		"slice of servers":   []*rekeytest.Server{srv},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %v"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) || strings.Contains(out, fmt.Sprintf("%x", s)) {
					t.Errorf("%s with %s prints a key or the secret: %s", name, verb, out)
				}
			}
		}
	}
	if got, want := fmt.Sprint(srv), "rekeytest.Server{URL: "+srv.URL+"}"; got != want {
		t.Errorf("Sprint(srv) = %q, want %q", got, want)
	}
}

func TestLogsAndErrorsNeverContainKeysOrTheSecret(t *testing.T) {
	logs := newLogLines()
	srv := newServer(t, rekeytest.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	key := srv.IssueKey().Key
	send(t, srv, "GET", "/v1/echo", bearer, key, "")
	send(t, srv, "GET", "/v1/echo?x=1", queryParam, key, "")
	send(t, srv, "GET", "/v1/echo", apiKeyHeader, key+"x", "")
	minted, err := srv.Refresh(t.Context(), credentials.Credential{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(rekeytest.Faults{UnavailableRate: 1, KeyEndpoint: true})
	_, errFault := srv.Refresh(t.Context(), credentials.Credential{Key: key})
	srv.SetFaults(rekeytest.Faults{DropRate: 1, KeyEndpoint: true})
	_, errDrop := srv.Refresh(t.Context(), credentials.Credential{Key: key})
	if errFault == nil || errDrop == nil {
		t.Fatalf("Refresh errors = %v, %v; want both", errFault, errDrop)
	}
	out := logs.String() + errFault.Error() + errDrop.Error()
	for _, s := range []string{key, minted.Key, srv.AccountSecret()} {
		if strings.Contains(out, s) {
			t.Errorf("a log line or error contains %s:\n%s", credentials.Redact(s), out)
		}
	}
	if n := strings.Count(logs.String(), `"msg":"rekeytest request"`); n < 6 {
		t.Errorf("%d log lines, want one per request (at least 6):\n%s", n, logs)
	}
}
