package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/transport"
)

const (
	// tokenTTL is etcd's --auth-token-ttl: a token unused this long is
	// dropped (etcd checks once a second, so it goes between tokenTTL and
	// tokenTTL+1s after its last use).
	tokenTTL = 2 * time.Second
	// idleGap is how long the app sends nothing between phases: long enough
	// for its token to be dropped for sure.
	idleGap = tokenTTL + 1500*time.Millisecond
	// maxRequests bounds the requests of one run, whatever happens.
	maxRequests = 20000
	// oldRevision is what etcd 3.4 answers a request that was in flight
	// while the auth store changed (a password, a permission).
	oldRevision = "etcdserver: revision of auth store is old"
)

// action is something the operator does mid-run.
type action int

const (
	rotatePassword   action = iota // new password in the file and in etcd
	revokePermission               // the app loses limitedPrefix
)

// scenario is one run: load from workers goroutines, in phases; in each
// phase the operator acts after every step finished requests, and the phase
// ends step requests after its last action. With idleGaps, the app sends
// nothing for idleGap after every phase, the last one included, so that the
// read-back at the end starts with a dropped token too.
type scenario struct {
	matcher  func(*http.Response, func() []byte) bool // nil: rekey's default
	workers  int
	step     int
	phases   [][]action
	idleGaps bool
}

func (sc scenario) count(a action) int {
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

// plannedGaps returns how many idle gaps the scenario has.
func (sc scenario) plannedGaps() int {
	if sc.idleGaps {
		return len(sc.phases)
	}
	return 0
}

// outcome is what a run measured.
type outcome struct {
	requests  int64 // Client.Do calls, the read-back included
	acked     int   // acknowledged writes
	denied    int64 // permission denied after the revoke, as intended
	failures  int64 // every other failed request
	oldRevErr int64 // failures whose error is etcd's "revision of auth store is old"
	samples   []string

	lost, phantom int // acknowledged writes not read back; writes read back but not acknowledged

	logins, loginFailures int64
	rejected              map[int]int64 // KeyRejected events by status
	replayed              int64
	wire                  *wire

	logs     string
	leaks    int // secrets found in error texts
	logLeaks int // secrets found in the Client's log
	elapsed  time.Duration
}

// runner drives one scenario against a fresh etcd.
type runner struct {
	sc      scenario
	client  *rekey.Client
	admin   *admin
	file    string
	secrets *secrets
	runID   string

	progress progress
	sent     atomic.Int64
	revoked  atomic.Bool // the operator has started revoking

	mu        sync.Mutex
	out       outcome
	ackData   []map[string]string // per worker
	ackLimit  []map[string]string
	sequences []int
}

// run starts an etcd of its own, turns authentication on, drives sc
// through a rekey.Client and returns what it measured.
func run(t *testing.T, sc scenario) *outcome {
	t.Helper()
	srv := startEtcd(t, tokenTTL)
	sec := &secrets{}
	adm, file := setupAuth(t, srv, sec)

	w := newWire()
	auth := &authenticator{endpoint: srv.endpoint, file: file, secrets: sec,
		hc: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}}
	t.Cleanup(auth.hc.CloseIdleConnections)
	var logs logBuffer
	var rejMu sync.Mutex
	rejected := map[int]int64{}
	var replayed atomic.Int64
	opts := []rekey.Option{
		rekey.WithCredentials(auth),
		rekey.WithScheme(transport.NoScheme), // etcd takes its bare token in Authorization
		rekey.WithTransport(w),
		rekey.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		rekey.WithHooks(rekey.Hooks{
			KeyRejected: func(ev transport.Event) {
				rejMu.Lock()
				rejected[ev.StatusCode]++
				rejMu.Unlock()
			},
			RequestReplayed: func(transport.Event) { replayed.Add(1) },
		}),
	}
	if sc.matcher != nil {
		opts = append(opts, rekey.WithRejection(sc.matcher))
	}
	client, err := rekey.NewClient(srv.endpoint, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	r := &runner{sc: sc, client: client, admin: adm, file: file, secrets: sec, runID: newSecret()[:8],
		ackData: make([]map[string]string, sc.workers), ackLimit: make([]map[string]string, sc.workers),
		sequences: make([]int, sc.workers)}
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

	r.out.logins, r.out.loginFailures = auth.logins(), auth.failed.Load()
	r.out.rejected, r.out.replayed, r.out.wire = rejected, replayed.Load(), w
	r.out.logs = logs.String()
	r.out.logLeaks = sec.leaked(r.out.logs)
	r.out.requests = r.sent.Load()
	return &r.out
}

// phase runs the workers until the operator has done actions, each after
// step finished requests, and step more requests have finished.
func (r *runner) phase(ctx context.Context, actions []action) error {
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
			err = r.admin.rotate(ctx, r.file)
		case revokePermission:
			r.revoked.Store(true)
			err = r.admin.revoke(ctx)
		}
		if err == nil {
			// step is far more than workers: some of these requests start
			// after the action, with whatever token it left.
			err = r.wait(ctx)
		}
	}
	close(stop)
	wg.Wait()
	return err
}

func (r *runner) wait(ctx context.Context) error {
	select {
	case <-r.progress.after(r.sc.step):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %d more requests: %w", r.sc.step, ctx.Err())
	}
}

// work writes unique keys until stop: three in four to dataPrefix, one in
// four to limitedPrefix.
func (r *runner) work(ctx context.Context, w int, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if r.sent.Add(1) > maxRequests {
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
		err := r.put(ctx, key, value)
		// A denial is intended only once the operator has started revoking;
		// a request sent just before may be answered just after.
		afterRevoke := r.revoked.Load()
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
		r.progress.add()
	}
}

func (r *runner) put(ctx context.Context, key, value string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := r.client.NewRequest(ctx, http.MethodPost, "/v3/kv/put", putRequest{[]byte(key), []byte(value)})
	if err != nil {
		return err
	}
	_, err = r.client.Do(req, nil)
	return err
}

func isPermissionDenied(err error) bool {
	var apiErr *rekey.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden &&
		strings.Contains(apiErr.Code+" "+apiErr.Message, "permission denied") &&
		!errors.Is(err, rekey.ErrInvalidAPIKey)
}

func (r *runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.failures++
	var apiErr *rekey.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest && strings.Contains(apiErr.Code+" "+apiErr.Message, oldRevision) {
		r.out.oldRevErr++
	}
	if len(r.out.samples) < 3 {
		r.out.samples = append(r.out.samples, err.Error())
	}
}

// checkSecrets counts the passwords and tokens that an error's text or
// formatted value shows.
func (r *runner) checkSecrets(err error) {
	text := err.Error() + fmt.Sprintf(" %v %+v %#v", err, err, err)
	var apiErr *rekey.APIError
	if errors.As(err, &apiErr) {
		text += fmt.Sprintf(" %+v %#v", *apiErr, apiErr)
	}
	if n := r.secrets.leaked(text); n > 0 {
		r.mu.Lock()
		r.out.leaks += n
		r.mu.Unlock()
	}
}
