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
	"net/http"
	"os"
	"os/exec"
	"strconv"
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
)

// event is one line a worker writes on stdout.
type event struct {
	Event  string   `json:"event"` // "ready", "holding" or "result"
	PID    int      `json:"pid"`
	OK     int64    `json:"ok,omitempty"`
	Failed int64    `json:"failed,omitempty"`
	Errors []string `json:"errors,omitempty"` // the first few failures
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
	rdb := redis.NewClient(&redis.Options{Addr: requireRedis(t), ContextTimeoutEnabled: true})
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
	store, err := New(rdb, mint, WithPrefix(prefix), WithLease(lease), WithPollInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tr := &transport.Transport{Credentials: store}
	defer tr.Close()
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	var ok, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	var ready sync.Once
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
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
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	emit(event{Event: "result", OK: ok.Load(), Failed: failed.Load(), Errors: errs})
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
	addr := requireRedis(t)
	if testing.Short() {
		t.Skip("multi-process test skipped in -short mode")
	}
	ws := make([]*worker, n)
	for i := range ws {
		w := &worker{events: make(chan event, 16), exited: make(chan struct{})}
		w.cmd = exec.Command(os.Args[0], "-test.run=^TestFleetWorker$", "-test.count=1", "-test.timeout=2m")
		w.cmd.Env = append(os.Environ(),
			envWorker+"=1",
			"REKEY_REDIS_ADDR="+addr,
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
