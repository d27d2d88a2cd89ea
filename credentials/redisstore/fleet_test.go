package redisstore

// The fleet tests run several OS processes (this test binary, re-executed
// with -test.run=TestFleetWorker) against one rekeytest server and one Redis,
// as replicas of a service sharing one API account would.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// Environment of a worker process.
const (
	envWorker     = "REKEY_FLEET_WORKER" // "1" in a worker
	envURL        = "REKEY_FLEET_URL"
	envSecret     = "REKEY_FLEET_SECRET"
	envPrefix     = "REKEY_FLEET_PREFIX"
	envGoroutines = "REKEY_FLEET_GOROUTINES"
	envLease      = "REKEY_FLEET_LEASE"
	// envMode "extend" makes the worker's hook extend the key (see
	// extendOverHTTP) instead of minting a new one.
	envMode = "REKEY_FLEET_MODE"
	// envHang names a Redis key: the first refresh hook call (fleet-wide)
	// that deletes it announces "holding" and then hangs, as a process
	// stuck or dying mid-refresh would.
	envHang = "REKEY_FLEET_HANG"
	// envCluster lists the seed addresses of a Redis Cluster (comma
	// separated): the worker uses redis.NewClusterClient instead of the
	// test Redis.
	envCluster = "REKEY_FLEET_CLUSTER"
	// envSentinel is "<master name>@<sentinel address>,...": the worker
	// uses redis.NewFailoverClient.
	envSentinel = "REKEY_FLEET_SENTINEL"
)

// event is one line a worker writes on stdout.
type event struct {
	Event  string   `json:"event"` // "ready", "holding", "marked" or "result"
	PID    int      `json:"pid"`
	OK     int64    `json:"ok,omitempty"`
	Failed int64    `json:"failed,omitempty"`
	Errors []string `json:"errors,omitempty"` // the first few failures
	// Warnings are the Store's warnings (Redis unavailable, a key not
	// stored), after which a process refreshes on its own by design.
	Warnings []string `json:"warnings,omitempty"`
}

// warningLog is a slog.Handler that keeps the messages of warnings.
type warningLog struct {
	mu   *sync.Mutex
	msgs *[]string
}

func (h warningLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h warningLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}
func (h warningLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h warningLog) WithGroup(string) slog.Handler      { return h }

func (h warningLog) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), *h.msgs...)
}

// TestFleetWorker is one replica: it is run only by the fleet tests, in a
// child process. It sends requests from several goroutines through a
// transport backed by a Store until its stdin closes, then reports.
func TestFleetWorker(t *testing.T) {
	if os.Getenv(envWorker) != "1" {
		t.Skip("run by the fleet tests in a child process")
	}
	base, prefix := os.Getenv(envURL), os.Getenv(envPrefix)
	goroutines, _ := strconv.Atoi(os.Getenv(envGoroutines))
	lease, err := time.ParseDuration(os.Getenv(envLease))
	if err != nil {
		t.Fatal(err)
	}
	rdb := workerRedis(t)
	defer rdb.Close()

	var outMu sync.Mutex
	emit := func(ev event) {
		ev.PID = os.Getpid()
		b, _ := json.Marshal(ev)
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.Write(append(b, '\n'))
	}
	mint := mintOverHTTP(base, os.Getenv(envSecret))
	if os.Getenv(envMode) == "extend" {
		mint = extendOverHTTP(base, os.Getenv(envSecret))
	}
	if hang := os.Getenv(envHang); hang != "" {
		real := mint
		mint = func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			if n, err := rdb.Del(ctx, hang).Result(); err == nil && n == 1 {
				emit(event{Event: "holding"})
				time.Sleep(time.Hour) // until the parent kills this process
			}
			return real(ctx, rejected)
		}
	}
	warnings := warningLog{mu: new(sync.Mutex), msgs: new([]string)}
	store, err := New(rdb, mint, WithPrefix(prefix), WithLease(lease), WithPollInterval(50*time.Millisecond),
		WithLogger(slog.New(warnings)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &transport.Transport{Credentials: store}
	defer tr.Close()
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	// Stdin: each line "mark" asks for a "marked" event once every
	// goroutine has had a request that it sent after the mark succeed (the
	// parent's way to know that none is still between a refresh and its
	// replay for an older rotation); its end stops the worker.
	stop := make(chan struct{})
	var marks, reported atomic.Int64
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "mark" {
				marks.Add(1)
			}
		}
		close(stop)
	}()
	seen := make([]atomic.Int64, goroutines) // per goroutine: the last mark a success followed
	var ok, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	var ready sync.Once
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mark := marks.Load()
				if err := get(client, base+"/v1/echo"); err != nil {
					failed.Add(1)
					errMu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err.Error())
					}
					errMu.Unlock()
				} else {
					ok.Add(1)
					ready.Do(func() { emit(event{Event: "ready"}) })
					seen[g].Store(mark)
					all := mark
					for i := range seen {
						all = min(all, seen[i].Load())
					}
					for r := reported.Load(); r < all; r = reported.Load() {
						if reported.CompareAndSwap(r, all) {
							emit(event{Event: "marked"})
							break
						}
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	emit(event{Event: "result", OK: ok.Load(), Failed: failed.Load(), Errors: errs, Warnings: warnings.list()})
}

// workerRedis is the worker's Redis client: a Cluster client (envCluster),
// a Sentinel failover client (envSentinel), or a client of the test Redis.
func workerRedis(t *testing.T) redis.UniversalClient {
	if addrs := os.Getenv(envCluster); addrs != "" {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true})
	}
	if spec := os.Getenv(envSentinel); spec != "" {
		master, addrs, _ := strings.Cut(spec, "@")
		return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true})
	}
	return redis.NewClient(&redis.Options{Addr: requireRedis(t), ContextTimeoutEnabled: true})
}

// get makes one request; anything but a 200 is a failure.
func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// mintOverHTTP is the refresh hook a worker knows: it mints a key with the
// account secret, as a real service would (POST /v1/keys).
func mintOverHTTP(base, secret string) credentials.RefreshFunc {
	return func(ctx context.Context, _ credentials.Credential) (credentials.Credential, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/keys", nil)
		if err != nil {
			return credentials.Credential{}, err
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return credentials.Credential{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return credentials.Credential{}, fmt.Errorf("minting: %s", resp.Status)
		}
		var got struct {
			Key string `json:"key"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			return credentials.Credential{}, err
		}
		return credentials.Credential{Key: got.Key}, nil
	}
}

// worker is a running worker process, seen from the parent.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	stderr bytes.Buffer
	exited chan struct{} // closed when the process has exited
}

// fleet starts n worker processes against srv and the test Redis.
func fleet(t *testing.T, n int, srv *rekeytest.Server, prefix string, extraEnv ...string) []*worker {
	t.Helper()
	return fleetAt(t, n, srv.URL, srv.AccountSecret(), prefix, extraEnv...)
}

// fleetAt starts n worker processes against the API at url, whose account
// secret is secret, and the test Redis.
func fleetAt(t *testing.T, n int, url, secret, prefix string, extraEnv ...string) []*worker {
	t.Helper()
	// A worker on a Cluster or Sentinel does not use the test Redis, but
	// its TestMain would start one of its own without an address.
	redisEnv := "REKEY_REDIS_ADDR=" + redisAddr
	if !hasEnv(extraEnv, envCluster) && !hasEnv(extraEnv, envSentinel) {
		redisEnv = "REKEY_REDIS_ADDR=" + requireRedis(t)
	}
	if testing.Short() {
		t.Skip("multi-process test skipped in -short mode")
	}
	ws := make([]*worker, n)
	for i := range ws {
		w := &worker{events: make(chan event, 16), exited: make(chan struct{})}
		w.cmd = exec.Command(os.Args[0], "-test.run=^TestFleetWorker$", "-test.count=1", "-test.timeout=2m")
		w.cmd.Env = append(os.Environ(),
			envWorker+"=1",
			redisEnv,
			envURL+"="+url,
			envSecret+"="+secret,
			envPrefix+"="+prefix,
			envGoroutines+"=4",
		)
		w.cmd.Env = append(w.cmd.Env, extraEnv...)
		w.cmd.Stderr = &w.stderr
		w.cmd.SysProcAttr = dieWithParent()
		var err error
		if w.stdin, err = w.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		stdout, err := w.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var ev event
				if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event != "" {
					w.events <- ev
				}
			}
			w.cmd.Wait()
			close(w.exited)
		}()
		t.Cleanup(func() {
			w.cmd.Process.Kill()
			testwait.Recv(t, w.exited, testwait.Timeout, "the killed worker to exit")
		})
		ws[i] = w
	}
	return ws
}

// hasEnv reports whether env sets name.
func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// settle waits until every goroutine of every worker has had a request
// succeed that it sent after settle was called: then each works with the
// key of the latest rotation, and the next rotation cannot overtake one of
// them between its refresh and its replay (the replay would be rejected,
// and the process, by design, stop refreshing for the
// RejectedKeyCooldown).
func settle(t *testing.T, ws []*worker, limit time.Duration) {
	t.Helper()
	for _, w := range ws {
		if _, err := io.WriteString(w.stdin, "mark\n"); err != nil {
			t.Fatalf("worker %d: %v", w.cmd.Process.Pid, err)
		}
	}
	for _, w := range ws {
		w.next(t, "marked", limit)
	}
}

// rotator waits until every worker is ready on the fleet's one first key,
// and returns a function that rotates the keys, waits until the fleet
// works on the new one (settle) and checks that exactly one key was minted
// for it; and the count of rotations made.
func rotator(t *testing.T, srv *rekeytest.Server, ws []*worker) (rotate func(when string), rotations *int) {
	t.Helper()
	for _, w := range ws {
		w.next(t, "ready", 30*time.Second)
	}
	if n := srv.Stats().KeysIssued; n != 1 {
		t.Fatalf("%d keys minted for the fleet's first key, want 1", n)
	}
	rotations = new(int)
	return func(when string) {
		t.Helper()
		srv.RotateAll()
		*rotations++
		settle(t, ws, 60*time.Second)
		if n := srv.Stats().KeysIssued; n != int64(1+*rotations) {
			t.Fatalf("%s, after rotation %d: %d keys minted in all, want %d", when, *rotations, n, 1+*rotations)
		}
	}, rotations
}

// next returns the worker's next event, failing t after limit.
func (w *worker) next(t *testing.T, want string, limit time.Duration) event {
	t.Helper()
	select {
	case ev := <-w.events:
		if ev.Event != want {
			t.Fatalf("worker %d: got event %q, want %q", w.cmd.Process.Pid, ev.Event, want)
		}
		return ev
	case <-w.exited:
		t.Fatalf("worker %d exited before %q: %s", w.cmd.Process.Pid, want, w.stderr.String())
	case <-time.After(limit):
		t.Fatalf("worker %d: no %q after %v", w.cmd.Process.Pid, want, limit)
	}
	return event{}
}

// finish stops the worker and returns its report.
func (w *worker) finish(t *testing.T) event {
	t.Helper()
	w.stdin.Close()
	ev := w.next(t, "result", 20*time.Second)
	testwait.Recv(t, w.exited, testwait.Timeout, "the worker to exit after its report")
	return ev
}
