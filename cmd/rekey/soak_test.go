package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// soakFor turns TestSoak on: go test ./cmd/rekey -run '^TestSoak$' -soak 60s -v
var soakFor = flag.Duration("soak", 0, "run TestSoak for this long (0: skip it)")

// The soak's load is the demo's defaults: 16 workers alternating GET and
// idempotent POST, keys that live 400 ms, every key revoked every 250 ms,
// 5% of answers failed (half 503, half dropped connections).
const (
	soakWorkers     = 16
	soakKeyTTL      = 400 * time.Millisecond
	soakRotateEvery = 250 * time.Millisecond
	soakFaultRate   = 0.05
	soakSample      = 10 * time.Second
)

// envSoakServer makes the test binary, re-executed by TestSoak, run the
// service (TestSoakServer) instead: the service keeps every body it
// performed, and its memory would hide the client's.
const envSoakServer = "REKEY_SOAK_SERVER"

// TestSoakServer is the soak's service, in a child process: it prints its
// URL and account secret as a JSON line and serves until stdin closes.
func TestSoakServer(t *testing.T) {
	if os.Getenv(envSoakServer) != "1" {
		t.Skip("run by TestSoak in a child process")
	}
	srv := rekeytest.NewServer(
		rekeytest.WithKeyTTL(soakKeyTTL),
		rekeytest.WithRotateEvery(soakRotateEvery),
		rekeytest.WithFaults(faultsFor(soakFaultRate)),
		rekeytest.WithIdempotency(true),
	)
	defer srv.Close()
	b, _ := json.Marshal(map[string]string{"url": srv.URL, "secret": srv.AccountSecret()})
	os.Stdout.Write(append(b, '\n'))
	io.Copy(io.Discard, os.Stdin)
	st := srv.Stats()
	fmt.Fprintf(os.Stderr, "service: %d requests, %d rotations, %d keys issued, %d faults injected\n",
		st.Requests, st.Rotations, st.KeysIssued, st.Faults.Total())
}

// soakSampleAt is one measurement of the client's process.
type soakSampleAt struct {
	at         time.Duration
	heap       uint64 // HeapAlloc after a GC
	objects    uint64
	goroutines int
	requests   int64
}

// TestSoak runs the demo's load against a service in a child process for
// -soak (60 s, say), with rotations and faults, and samples the client
// process's live heap (after a GC) and goroutines every 10 s. After the
// first sample (warm-up: connections opened, pools filled), neither may
// grow: heap within 1.5× the first sample plus 1 MiB, goroutines within
// the first sample plus 2 per worker (connections come and go with dropped
// ones). At the end, with the Client closed and idle connections closed,
// the goroutines are back to where they were before it started.
func TestSoak(t *testing.T) {
	if *soakFor <= 0 {
		t.Skip("soak off: run with -soak 60s")
	}
	baseline := runtime.NumGoroutine()
	url, secret := startSoakServer(t)

	var refreshes, retries, rejections atomic.Int64
	mintPool := &http.Transport{}
	client, err := rekey.NewClient(url+"/v1",
		rekey.WithRefresh(soakMinter(mintPool, url, secret)),
		rekey.WithIdempotencyKeys(),
		// Every key is revoked every 250 ms: a replay that a rotation
		// overtakes must not stop refreshes for the default 10 s (see
		// credentials.Cache.RejectedKeyCooldown).
		rekey.WithRejectedKeyCooldown(5*time.Millisecond),
		rekey.WithRetryPolicy(transport.RetryPolicy{MaxAttempts: 6, MinWait: 2 * time.Millisecond, MaxWait: 50 * time.Millisecond}),
		rekey.WithTimeout(30*time.Second),
		rekey.WithHooks(rekey.Hooks{
			RefreshStarted: func(credentials.RefreshEvent) { refreshes.Add(1) },
			RetryScheduled: func(transport.RetryEvent) { retries.Add(1) },
			KeyRejected:    func(transport.Event) { rejections.Add(1) },
		}),
	)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	var requests, failed atomic.Int64
	var classMu sync.Mutex
	classes := map[string]int{}
	var wg sync.WaitGroup
	for w := range soakWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ctx.Err() == nil; seq++ {
				err := soakRequest(client, w, seq)
				requests.Add(1)
				if err != nil {
					failed.Add(1)
					classMu.Lock()
					classes[classify(err)]++
					classMu.Unlock()
				}
			}
		}()
	}

	start := time.Now()
	var samples []soakSampleAt
	tick := time.NewTicker(soakSample)
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			done = true
		}
		if done && len(samples) > 0 && time.Since(start)-samples[len(samples)-1].at < soakSample/2 {
			break // the last tick was a moment ago
		}
		s := soakMeasure(time.Since(start), requests.Load())
		samples = append(samples, s)
		t.Logf("t=%-4v heap %6.2f MiB (%7d objects), %3d goroutines, %7d requests", s.at.Round(time.Second), float64(s.heap)/(1<<20), s.objects, s.goroutines, s.requests)
	}
	tick.Stop()
	wg.Wait()
	client.Close()
	rekey.CloseIdleConnections()
	mintPool.CloseIdleConnections()

	classMu.Lock()
	t.Logf("%d requests, %d failed (%v); %d key rejections, %d refreshes, %d transient retries",
		requests.Load(), failed.Load(), classes, rejections.Load(), refreshes.Load(), retries.Load())
	if n := classes[""]; n > 0 {
		t.Errorf("%d requests failed with an unclassified error", n)
	}
	classMu.Unlock()

	if len(samples) < 3 {
		t.Fatalf("%d samples: run for at least %v", len(samples), 3*soakSample)
	}
	warm := samples[0]
	for _, s := range samples[1:] {
		if limit := warm.heap*3/2 + 1<<20; s.heap > limit {
			t.Errorf("t=%v: heap %d bytes, above 1.5× the warm-up sample plus 1 MiB (%d): it grows", s.at.Round(time.Second), s.heap, limit)
		}
		if limit := warm.goroutines + 2*soakWorkers; s.goroutines > limit {
			t.Errorf("t=%v: %d goroutines, above the warm-up sample plus 2 per worker (%d): they grow", s.at.Round(time.Second), s.goroutines, limit)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline+1 && time.Now().Before(deadline) { // +1: the child's stdout reader, stopped by cleanup
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline+1 {
		t.Errorf("%d goroutines after the Client closed, %d before it started", n, baseline)
	}
}

// soakMeasure collects garbage and measures the live heap and goroutines.
func soakMeasure(at time.Duration, requests int64) soakSampleAt {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return soakSampleAt{at: at, heap: ms.HeapAlloc, objects: ms.HeapObjects, goroutines: runtime.NumGoroutine(), requests: requests}
}

// soakRequest sends one request of the demo's mix and checks a POST's echo.
func soakRequest(c *rekey.Client, w, seq int) error {
	method, path, body := http.MethodGet, "echo?worker="+strconv.Itoa(w)+"&seq="+strconv.Itoa(seq), []byte(nil)
	if seq%2 == 1 {
		method, path = http.MethodPost, "echo"
		body = fmt.Appendf(nil, `{"worker":%d,"seq":%d,"note":"rekey soak"}`, w, seq)
	}
	req, err := c.NewRequest(context.Background(), method, path, body)
	if err != nil {
		return err
	}
	var echo echoBody
	if _, err := c.Do(req, &echo); err != nil {
		return err
	}
	if body != nil && string(echo.Body) != string(body) {
		return errors.New("rekey: the echo differs from the body sent")
	}
	return nil
}

// soakMinter mints keys at the service with its account secret.
func soakMinter(pool *http.Transport, url, secret string) credentials.RefreshFunc {
	hc := &http.Client{Transport: pool}
	return func(ctx context.Context, _ credentials.Credential) (credentials.Credential, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/keys", nil)
		if err != nil {
			return credentials.Credential{}, err
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := hc.Do(req)
		if err != nil {
			return credentials.Credential{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return credentials.Credential{}, fmt.Errorf("minting a key: %s", resp.Status)
		}
		var got struct {
			Key       string    `json:"key"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			return credentials.Credential{}, err
		}
		return credentials.Credential{Key: got.Key, Expiry: got.ExpiresAt}, nil
	}
}

// startSoakServer starts TestSoakServer in a child process and returns the
// service's URL and account secret; the child stops when t ends.
func startSoakServer(t *testing.T) (url, secret string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSoakServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), envSoakServer+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	select {
	case line := <-lines:
		var got struct{ URL, Secret string }
		if err := json.Unmarshal([]byte(line), &got); err != nil || got.URL == "" {
			t.Fatalf("the soak service said %q", line)
		}
		return got.URL, got.Secret
	case <-time.After(30 * time.Second):
		t.Fatal("the soak service did not start")
	}
	return "", ""
}
