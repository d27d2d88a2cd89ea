package etcdtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/transport"
)

// etcdRejection is the one-line matcher etcd 3.4 needs on top of rekey's
// default: besides 401 "invalid auth token", a request that was in flight
// while the auth store changed (a password rotated, a permission revoked)
// is answered 400 "revision of auth store is old"; logging in again and
// replaying it succeeds.
var etcdRejection = transport.AnyOf(transport.IsInvalidKeyRejection, transport.StatusBody(http.StatusBadRequest, oldRevision))

// TestEtcdTokenAuth runs rekey.Client against a real etcd with
// authentication on: load from several goroutines, password rotations, a
// revoked permission, and (with the matcher) idle gaps longer than the token
// TTL. See the package documentation.
//
// Logins are related to their causes: one first login, then one per
// rotation (etcd drops every token of the user) and one per idle gap (etcd
// drops the unused token); however many goroutines saw the same dead token,
// the Client logs in once. Each planned cause kills a distinct token, since
// the test waits for step (far more than workers) requests after each, so
// that is the lower bound. The upper bound adds one for each revoke when the
// matcher is on (requests in flight during the revoke get "revision of auth
// store is old" and the matcher treats it as a rejection), and counts every
// pause of the traffic longer than the TTL, planned or not (on a loaded
// machine the workers can stall), instead of only the planned gaps.
func TestEtcdTokenAuth(t *testing.T) {
	cases := []struct {
		name string
		sc   scenario
	}{
		{
			name: "with the one-line matcher",
			sc: scenario{
				matcher: etcdRejection, workers: 4, step: 300, idleGaps: true,
				phases: [][]action{{rotatePassword}, {rotatePassword, revokePermission}, {rotatePassword}},
			},
		},
		{
			name: "default matcher alone",
			sc: scenario{
				workers: 8, step: 300,
				phases: [][]action{{rotatePassword, revokePermission, rotatePassword, rotatePassword}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := tc.sc
			out := run(t, sc)
			rotations, revokes := sc.count(rotatePassword), sc.count(revokePermission)
			oldRev := out.wire.answer("400 " + oldRevision)
			pauses := out.wire.gaps(tokenTTL - 500*time.Millisecond)
			t.Logf("%d requests (%d attempts on the wire) in %v; %d acknowledged writes, %d lost, %d not acknowledged but stored; "+
				"%d permission denied; %d failed (%d with %q)",
				out.requests, out.wire.attempts(), out.elapsed.Round(time.Millisecond), out.acked, out.lost, out.phantom,
				out.denied, out.failures, out.oldRevErr, oldRevision)
			t.Logf("%d logins (%d failed) for %d rotations, %d planned idle gaps (%d pauses of %v or more), %d revokes; rejections by status %v; %d replays",
				out.logins, out.loginFailures, rotations, sc.plannedGaps(), pauses, tokenTTL-500*time.Millisecond, revokes, out.rejected, out.replayed)
			t.Logf("etcd answered: %s", out.wire.summary())
			for _, s := range out.samples {
				t.Logf("failure: %s", s)
			}

			if out.lost != 0 || out.phantom != 0 {
				t.Errorf("%d acknowledged writes lost, %d unacknowledged writes stored; want 0 and 0", out.lost, out.phantom)
			}
			if sc.matcher != nil {
				if out.failures != 0 {
					t.Errorf("%d requests failed; want 0 with the matcher", out.failures)
				}
				if oldRev == 0 {
					t.Logf("etcd answered no %q this run: the matcher was not exercised", oldRevision)
				}
			} else {
				// Without the matcher, every failure is etcd's "revision of
				// auth store is old" passed through, and each such answer
				// fails its request: the evidence that the matcher is needed.
				if out.failures != out.oldRevErr || out.oldRevErr != oldRev {
					t.Errorf("%d requests failed, %d of them with %q, which etcd answered %d times; want all failures to be that answer, one per answer",
						out.failures, out.oldRevErr, oldRevision, oldRev)
				}
				if oldRev == 0 {
					t.Logf("etcd answered no %q this run: no request was in flight during a rotation", oldRevision)
				}
				if out.rejected[http.StatusBadRequest] != 0 {
					t.Errorf("the default matcher took %d 400s as rejections; want 0", out.rejected[http.StatusBadRequest])
				}
			}
			if revokes > 0 && out.denied == 0 {
				t.Errorf("no request was denied after the revoke; want some (is the scenario still writing to %s?)", limitedPrefix)
			}
			if n := out.rejected[http.StatusForbidden]; n != 0 {
				t.Errorf("%d permission-denied answers were taken as key rejections; want 0 (no refresh)", n)
			}
			low := int64(1 + rotations + sc.plannedGaps())
			high := int64(1 + rotations + max(pauses, sc.plannedGaps()))
			if sc.matcher != nil {
				high += int64(revokes)
			}
			if out.logins < low || out.logins > high {
				t.Errorf("%d logins; want between %d and %d (see the test's doc comment)", out.logins, low, high)
			}
			if out.leaks != 0 {
				t.Errorf("error texts showed a password or a token %d times", out.leaks)
			}
			if !strings.Contains(out.logs, "rekey:") {
				t.Errorf("the Client logged nothing; the check for secrets in its log is void")
			}
			if out.logLeaks != 0 {
				t.Errorf("the Client's log showed a password or a token %d times", out.logLeaks)
			}
		})
	}
}
