package rekeytest_test

import (
	"net/http"
	"testing"

	"github.com/rekeyhq/rekey/rekeytest"
)

// withIdemKey places key as the API key and idem as the Idempotency-Key.
func withIdemKey(idem string) placement {
	return func(r *http.Request, key string) {
		bearer(r, key)
		if idem != "" {
			r.Header.Set(rekeytest.IdempotencyKeyHeader, idem)
		}
	}
}

// TestIdempotency sends a sequence of requests to a server with and
// without WithIdempotency, and checks each answer, what the server
// performed (Bodies) and the replays it counted.
func TestIdempotency(t *testing.T) {
	type step struct {
		method, idem, body string
		status             int
		replayed           bool
	}
	const a, b = `{"n": 1}`, `{"n": 2}`
	for _, tc := range []struct {
		name         string
		on           bool
		steps        []step
		wantBodies   []string
		wantReplays  int64
		revokeBefore int // revoke the key before this step (1-based); 0: never
	}{
		{
			name: "a repeated key is answered, not performed again",
			on:   true,
			steps: []step{
				{"POST", "k1", a, 200, false},
				{"POST", "k1", a, 200, true},
				{"POST", "k1", a, 200, true},
			},
			wantBodies: []string{a}, wantReplays: 2,
		},
		{
			name: "different keys are different requests",
			on:   true,
			steps: []step{
				{"POST", "k1", a, 200, false},
				{"POST", "k2", a, 200, false},
				{"PUT", "k3", b, 200, false},
			},
			wantBodies: []string{a, a, b},
		},
		{
			name: "a key reused for another body or method is refused",
			on:   true,
			steps: []step{
				{"POST", "k1", a, 200, false},
				{"POST", "k1", b, 422, false},
				{"PUT", "k1", a, 422, false},
			},
			wantBodies: []string{a},
		},
		{
			name: "no key: every request is performed",
			on:   true,
			steps: []step{
				{"POST", "", a, 200, false},
				{"POST", "", a, 200, false},
			},
			wantBodies: []string{a, a},
		},
		{
			name: "off: a repeated key is performed again",
			on:   false,
			steps: []step{
				{"POST", "k1", a, 200, false},
				{"POST", "k1", a, 200, false},
			},
			wantBodies: []string{a, a},
		},
		{
			name: "a rejected key leaves the idempotency key free",
			on:   true,
			steps: []step{
				{"POST", "k1", a, 401, false},
				{"POST", "k1", a, 200, false},
				{"POST", "k1", a, 200, true},
			},
			wantBodies: []string{a}, wantReplays: 1, revokeBefore: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, rekeytest.WithIdempotency(tc.on))
			revoked := srv.IssueKey().Key
			srv.Revoke(revoked)
			key := srv.IssueKey().Key
			var first []byte
			for i, st := range tc.steps {
				k := key
				if i+1 == tc.revokeBefore {
					k = revoked
				}
				ans := send(t, srv, st.method, "/v1/echo", withIdemKey(st.idem), k, st.body)
				if ans.status != st.status {
					t.Fatalf("step %d (%s %s): status %d %s, want %d", i+1, st.method, st.idem, ans.status, ans.body, st.status)
				}
				if got := ans.header.Get(rekeytest.IdempotentReplayedHeader) == "true"; got != st.replayed {
					t.Errorf("step %d: Idempotent-Replayed %v, want %v", i+1, got, st.replayed)
				}
				if st.status != 200 {
					continue
				}
				var echo echoAnswer
				ans.json(t, &echo)
				if string(echo.Body) != st.body || echo.Method != st.method {
					t.Errorf("step %d: echo %s %s, want %s %s", i+1, echo.Method, echo.Body, st.method, st.body)
				}
				if st.replayed && string(ans.body) != string(first) {
					t.Errorf("step %d: replayed answer %s differs from the first %s", i+1, ans.body, first)
				}
				if first == nil {
					first = ans.body
				}
			}
			var got []string
			for _, b := range srv.Bodies() {
				got = append(got, string(b))
			}
			if len(got) != len(tc.wantBodies) {
				t.Fatalf("performed %q, want %q", got, tc.wantBodies)
			}
			for i := range got {
				if got[i] != tc.wantBodies[i] {
					t.Fatalf("performed %q, want %q", got, tc.wantBodies)
				}
			}
			if n := srv.Stats().IdempotentReplays; n != tc.wantReplays {
				t.Errorf("Stats().IdempotentReplays = %d, want %d", n, tc.wantReplays)
			}
		})
	}
}
