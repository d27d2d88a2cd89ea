package grpcrekey_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// etcdMatcher is the matcher etcd needs on top of the default, as
// documented in docs/grpc.md: besides Unauthenticated "etcdserver: invalid
// auth token", a call that carries a token older than the auth store's last
// change (a password rotated, a permission revoked) is answered
// InvalidArgument "etcdserver: revision of auth store is old"; logging in
// again and replaying it succeeds. etcd's own Go client refreshes its token
// on exactly these two answers (clientv3's shouldRefreshToken). etcd 3.4's
// Maintenance service (Snapshot, Status, ...) answers a dropped token with
// its raw auth error instead: Unknown "auth: invalid auth token".
var etcdMatcher = grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
	grpcrekey.StatusMessage(codes.InvalidArgument, oldRevision),
	grpcrekey.StatusMessage(codes.Unknown, "auth: invalid auth token"))

const (
	// etcdTTL is etcd's --auth-token-ttl: a token unused this long is
	// dropped (etcd checks once a second).
	etcdTTL = 2 * time.Second
	// idleGap is how long the app sends nothing between phases: long
	// enough for its token to be dropped for sure.
	idleGap = etcdTTL + 1500*time.Millisecond
	// maxCalls bounds the calls of one run, whatever happens.
	maxCalls = 20000
)

type action int

const (
	rotatePassword   action = iota // new password in the file and in etcd
	revokePermission               // the app loses limitedPrefix
)

// etcdScenario is one run: Put calls from workers goroutines, in phases; in
// each phase the operator acts after every step finished calls, and the
// phase ends step calls after its last action. With idleGaps, the app
// sends nothing for idleGap after every phase, so that its token expires.
type etcdScenario struct {
	matcher  grpcrekey.Matcher // nil: the default
	workers  int
	step     int
	phases   [][]action
	idleGaps bool
}

func (sc etcdScenario) count(a action) int {
	n := 0
	for _, p := range sc.phases {
		for _, x := range p {
			if x == a {
				n++
			}
		}
	}
	return n
}

func (sc etcdScenario) plannedGaps() int {
	if sc.idleGaps {
		return len(sc.phases)
	}
	return 0
}

// etcdOutcome is what a run measured.
type etcdOutcome struct {
	calls     int64 // Put and Range calls made by the app
	acked     int   // acknowledged writes
	denied    int64 // PermissionDenied after the revoke, as intended
	failures  int64 // every other failed call
	oldRevErr int64 // failures that are etcd's "revision of auth store is old"
	samples   []string

	lost, phantom int // acknowledged writes not read back; writes read back but not acknowledged

	logins, loginFailures int64
	rejected              map[int]int64 // KeyRejected events by (HTTP-mapped) status
	replayed              int64
	wire                  *wire

	logs     string
	leaks    int
	logLeaks int
	elapsed  time.Duration
}

// TestEtcdTokenAuth runs an app against a real etcd 3.4 with
// authentication on, over etcd's native gRPC API through its generated
// stubs and grpcrekey: Put calls from several goroutines, password
// rotations, a revoked permission, and (with the matcher) idle gaps longer
// than the token TTL. The key is the token from Authenticate; a refresh
// logs in again with the password the file holds now.
//
// Every acknowledged write must be read back, and no unacknowledged one;
// with the documented matcher no call may fail but the denied ones after
// the revoke, which must pass through as PermissionDenied without a
// refresh. Logins relate to their causes as in internal/etcdtest: one
// first login, one per rotation and one per idle gap at least; at most one
// more per revoke (calls in flight get "revision of auth store is old") and
// one per pause of the traffic longer than the TTL. Without the matcher,
// the control case, every failure is etcd's "revision of auth store is old"
// passed through: the evidence that the matcher is needed.
func TestEtcdTokenAuth(t *testing.T) {
	cases := []struct {
		name string
		sc   etcdScenario
	}{
		{
			name: "with the documented matcher",
			sc: etcdScenario{
				matcher: etcdMatcher, workers: 4, step: 300, idleGaps: true,
				phases: [][]action{{rotatePassword}, {rotatePassword, revokePermission}, {rotatePassword}},
			},
		},
		{
			name: "default matcher alone",
			sc: etcdScenario{
				workers: 8, step: 300,
				phases: [][]action{{rotatePassword, revokePermission, rotatePassword, rotatePassword}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := tc.sc
			out := runEtcd(t, sc)
			rotations, revokes := sc.count(rotatePassword), sc.count(revokePermission)
			oldRev := out.wire.answer("InvalidArgument " + oldRevision)
			pauses := out.wire.gaps(etcdTTL - 500*time.Millisecond)
			t.Logf("%d calls (%d attempts on the wire) in %v; %d acknowledged writes, %d lost, %d not acknowledged but stored; "+
				"%d permission denied; %d failed (%d with %q)",
				out.calls, out.wire.attempts(), out.elapsed.Round(time.Millisecond), out.acked, out.lost, out.phantom,
				out.denied, out.failures, out.oldRevErr, oldRevision)
			t.Logf("%d logins (%d failed) for %d rotations, %d planned idle gaps (%d pauses of %v or more), %d revokes; rejections by status %v; %d replays",
				out.logins, out.loginFailures, rotations, sc.plannedGaps(), pauses, etcdTTL-500*time.Millisecond, revokes, out.rejected, out.replayed)
			t.Logf("etcd answered: %s", out.wire.summary())
			for _, s := range out.samples {
				t.Logf("failure: %s", s)
			}

			if out.lost != 0 || out.phantom != 0 {
				t.Errorf("%d acknowledged writes lost, %d unacknowledged writes stored; want 0 and 0", out.lost, out.phantom)
			}
			if sc.matcher != nil {
				if out.failures != 0 {
					t.Errorf("%d calls failed; want 0 with the matcher", out.failures)
				}
				if oldRev == 0 {
					t.Logf("etcd answered no %q this run: the matcher was not exercised", oldRevision)
				}
				if sc.idleGaps && out.wire.answer("Unauthenticated etcdserver: invalid auth token") == 0 {
					t.Errorf("etcd never answered \"invalid auth token\": the token expiry was not exercised")
				}
			} else {
				if out.failures != out.oldRevErr || out.oldRevErr != oldRev {
					t.Errorf("%d calls failed, %d of them with %q, which etcd answered %d times; want all failures to be that answer, one per answer",
						out.failures, out.oldRevErr, oldRevision, oldRev)
				}
				if out.rejected[400] != 0 {
					t.Errorf("the default matcher took %d InvalidArgument answers as rejections; want 0", out.rejected[400])
				}
			}
			if revokes > 0 && out.denied == 0 {
				t.Errorf("no call was denied after the revoke; want some")
			}
			if n := out.rejected[403]; n != 0 {
				t.Errorf("%d PermissionDenied answers were taken as key rejections; want 0 (no refresh)", n)
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
				t.Errorf("the Credentials logged nothing; the check for secrets in their log is void")
			}
			if out.logLeaks != 0 {
				t.Errorf("the log showed a password or a token %d times", out.logLeaks)
			}
		})
	}
}

// etcdRunner drives one scenario.
type etcdRunner struct {
	sc    etcdScenario
	kv    pb.KVClient
	op    *operator
	file  string
	sec   *secretList
	runID string

	progress chan struct{} // one value per finished call
	sent     atomic.Int64
	revoked  atomic.Bool

	mu        sync.Mutex
	out       etcdOutcome
	ackData   []map[string]string // per worker
	ackLimit  []map[string]string
	sequences []int
}

// runEtcd starts an etcd of its own, turns authentication on, drives sc
// through grpcrekey and returns what it measured.
func runEtcd(t *testing.T, sc etcdScenario) *etcdOutcome {
	t.Helper()
	srv := startEtcd(t, etcdTTL)
	sec := &secretList{}
	op, file := setupEtcdAuth(t, srv, sec)
	lg := &login{auth: pb.NewAuthClient(plainConn(t, srv.addr)), user: appUser, file: file, secrets: sec}

	var logs syncBuffer
	var rejMu sync.Mutex
	rejected := map[int]int64{}
	var replayed atomic.Int64
	opts := []grpcrekey.Option{
		grpcrekey.WithMetadataKey(tokenField), // etcd's bare token, in "token"
		grpcrekey.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		grpcrekey.WithHooks(rekey.Hooks{
			KeyRejected: func(ev transport.Event) {
				rejMu.Lock()
				rejected[ev.StatusCode]++
				rejMu.Unlock()
			},
			RequestReplayed: func(transport.Event) { replayed.Add(1) },
		}),
	}
	if sc.matcher != nil {
		opts = append(opts, grpcrekey.WithRejection(sc.matcher))
	}
	rk, err := grpcrekey.New(lg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	w := newWire()
	conn := dialConn(t, srv.addr, insecureCreds(), append(rk.DialOptions(), grpc.WithChainUnaryInterceptor(w.intercept)))

	r := &etcdRunner{sc: sc, kv: pb.NewKVClient(conn), op: op, file: file, sec: sec, runID: newSecret()[:8],
		progress: make(chan struct{}, maxCalls+sc.workers), ackData: make([]map[string]string, sc.workers),
		ackLimit: make([]map[string]string, sc.workers), sequences: make([]int, sc.workers)}
	for i := range sc.workers {
		r.ackData[i], r.ackLimit[i] = map[string]string{}, map[string]string{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	for i, actions := range sc.phases {
		if err := r.phase(ctx, actions); err != nil {
			t.Fatalf("phase %d: %v", i+1, err)
		}
		if sc.idleGaps {
			select {
			case <-time.After(idleGap):
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
	}
	r.readBack(ctx, t)
	r.out.elapsed = time.Since(start)
	r.out.logins, r.out.loginFailures = lg.logins(), lg.failed.Load()
	r.out.rejected, r.out.replayed, r.out.wire = rejected, replayed.Load(), w
	r.out.logs = logs.String()
	r.out.logLeaks = len(leaksIn(r.out.logs, sec.all()))
	r.out.calls = r.sent.Load()
	return &r.out
}

// phase runs the workers until the operator has done actions, each after
// step finished calls, and step more calls have finished.
func (r *etcdRunner) phase(ctx context.Context, actions []action) error {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range r.sc.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, w, stop)
		}()
	}
	err := r.wait(ctx)
	for _, a := range actions {
		if err != nil {
			break
		}
		switch a {
		case rotatePassword:
			err = r.op.rotate(ctx, r.file)
		case revokePermission:
			r.revoked.Store(true)
			err = r.op.revoke(ctx)
		}
		if err == nil {
			err = r.wait(ctx) // step is far more than workers: calls start after the action
		}
	}
	close(stop)
	wg.Wait()
	return err
}

func (r *etcdRunner) wait(ctx context.Context) error {
	for range r.sc.step {
		select {
		case <-r.progress:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d more calls: %w", r.sc.step, ctx.Err())
		}
	}
	return nil
}

// work writes unique keys until stop: three in four to dataPrefix, one in
// four to limitedPrefix.
func (r *etcdRunner) work(ctx context.Context, w int, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if r.sent.Add(1) > maxCalls {
			return
		}
		i := r.sequences[w]
		r.sequences[w]++
		limited := i%4 == 3
		prefix := dataPrefix
		if limited {
			prefix = limitedPrefix
		}
		key := fmt.Sprintf("%sw%02d/%06d", prefix, w, i)
		value := fmt.Sprintf("%s-w%02d-%06d", r.runID, w, i)
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := r.kv.Put(callCtx, &pb.PutRequest{Key: []byte(key), Value: []byte(value)})
		cancel()
		afterRevoke := r.revoked.Load() // a call sent just before the revoke may be answered just after
		switch {
		case err == nil && limited:
			r.ackLimit[w][key] = value
		case err == nil:
			r.ackData[w][key] = value
		case limited && afterRevoke && isPermissionDenied(err):
			r.mu.Lock()
			r.out.denied++
			r.mu.Unlock()
		default:
			r.fail(err)
		}
		if err != nil {
			r.checkSecrets(err)
		}
		r.progress <- struct{}{}
	}
}

// isPermissionDenied reports etcd's own PermissionDenied, passed through
// untouched: grpc's status error, not a rekey error.
func isPermissionDenied(err error) bool {
	var rkErr *grpcrekey.Error
	return status.Code(err) == codes.PermissionDenied && strings.Contains(status.Convert(err).Message(), "permission denied") &&
		!errors.Is(err, rekey.ErrInvalidAPIKey) && !errors.As(err, &rkErr)
}

func (r *etcdRunner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.failures++
	if status.Code(err) == codes.InvalidArgument && strings.Contains(status.Convert(err).Message(), oldRevision) {
		r.out.oldRevErr++
	}
	if len(r.out.samples) < 3 {
		r.out.samples = append(r.out.samples, err.Error())
	}
}

func (r *etcdRunner) checkSecrets(err error) {
	if n := len(leaks(err, r.sec.all())); n > 0 {
		r.mu.Lock()
		r.out.leaks += n
		r.mu.Unlock()
	}
}

// readBack reads every worker's keys of dataPrefix back through grpcrekey,
// all at once (after an idle gap the token is gone, and one login serves
// them all), and the keys of limitedPrefix as root, since the app may no
// longer read them; then it compares them with the acknowledged writes.
func (r *etcdRunner) readBack(ctx context.Context, t *testing.T) {
	t.Helper()
	got := make([]map[string]string, r.sc.workers)
	errs := make([]error, r.sc.workers)
	var wg sync.WaitGroup
	for w := range r.sc.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.sent.Add(1)
			prefix := fmt.Sprintf("%sw%02d/", dataPrefix, w)
			resp, err := r.kv.Range(ctx, &pb.RangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)})
			if err != nil {
				errs[w] = err
				return
			}
			got[w] = kvMap(resp)
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			r.checkSecrets(err)
			r.fail(err)
			t.Errorf("reading back worker %d's writes: %v", w, err)
		}
	}
	limited, err := r.op.rangeAll(ctx, limitedPrefix)
	if err != nil {
		t.Fatalf("reading back %s as root: %v", limitedPrefix, err)
	}
	for w := range r.sc.workers {
		r.compare(r.ackData[w], got[w])
	}
	all := map[string]string{}
	for w := range r.sc.workers {
		for k, v := range r.ackLimit[w] {
			all[k] = v
		}
	}
	r.compare(all, limited)
}

// compare counts acknowledged writes missing from got (or with another
// value) and writes in got that were never acknowledged.
func (r *etcdRunner) compare(acked, got map[string]string) {
	r.out.acked += len(acked)
	for k, v := range acked {
		if got[k] != v {
			r.out.lost++
		}
	}
	for k := range got {
		if _, ok := acked[k]; !ok {
			r.out.phantom++
		}
	}
}

// syncBuffer is a bytes.Buffer for a logger written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
