package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

const demoHelp = `Usage: rekey demo [flags]

Demo starts an embedded fake API service (package rekeytest) on loopback whose
keys expire after --key-ttl, are revoked at random about every --revoke-every,
and whose answers fail transiently at --fault-rate (half 503 Service
Unavailable, half dropped connections). It then runs --workers goroutines for
--duration, each sending GET and idempotent POST requests through one
rekey.Client that mints its keys from the service.

rekey refreshes keys ahead of expiry, recovers from rejections by refreshing
once for all workers and replaying the request, and retries transient
failures. A live line on stderr shows the counts (plain lines every second
when stderr is not a terminal); stdout gets the summary: requests, rejections
recovered, refreshes, transient retries, failures by class and p50/p99
latency. No key is ever printed.

With --pool N, the Client holds N keys in a credentials.Pool, each minted
from the service: when the key in use is revoked, requests fail over at once
to the next key while the revoked one is replaced in the background.

Every POST carries a unique body; at the end each acknowledged body must have
reached the service exactly once, byte for byte. Exit status: 0 when no
request was lost, 1 when one was (acknowledged but not received, received
twice, or failed with an error rekey did not classify), 2 for bad flags.

Example:

  rekey demo --duration 10s --workers 64 --key-ttl 200ms --fault-rate 0.1
  rekey demo --pool 2 --revoke-every 100ms
`

// demoConfig is what the demo's flags set.
type demoConfig struct {
	duration    time.Duration
	workers     int
	keyTTL      time.Duration
	revokeEvery time.Duration
	faultRate   float64
	seed        int64
	pool        int // keys in a credentials.Pool; 0: one key

	// onKey, if set, is told every key the service issues (tests use it to
	// check that no output contains one). It must be safe for concurrent use.
	onKey func(key string)
}

// runDemoCommand is "rekey demo".
func runDemoCommand(args []string, stdout, stderr io.Writer) int {
	cfg, code, stop := parseDemo(args, stdout, stderr)
	if stop {
		return code
	}
	return runDemo(cfg, stdout, stderr)
}

// parseDemo reads the demo's flags.
func parseDemo(args []string, stdout, stderr io.Writer) (cfg demoConfig, code int, stop bool) {
	fs := newFlagSet("demo", demoHelp, stdout)
	fs.DurationVar(&cfg.duration, "duration", 4*time.Second, "how long the workers send requests")
	fs.IntVar(&cfg.workers, "workers", 16, "number of concurrent workers sharing one rekey.Client")
	fs.DurationVar(&cfg.keyTTL, "key-ttl", 400*time.Millisecond, "lifetime of each key the service issues (0: keys never expire)")
	fs.DurationVar(&cfg.revokeEvery, "revoke-every", 250*time.Millisecond, "average interval between random revocations of the current key (0: none)")
	fs.Float64Var(&cfg.faultRate, "fault-rate", 0.05, "fraction of requests, in [0, 1], failed transiently: half 503, half dropped connections")
	fs.Int64Var(&cfg.seed, "seed", 0, "seed for the service's fault injection (0: random)")
	fs.IntVar(&cfg.pool, "pool", 0, "hold this many keys (2 to 16) in a credentials.Pool and fail over between them (0: one key)")
	if code, stop := parseFlags(fs, args, stderr); stop {
		return cfg, code, true
	}
	switch {
	case cfg.duration <= 0:
		return cfg, usageError(stderr, fs, "--duration %v: want a positive duration such as 4s", cfg.duration), true
	case cfg.workers < 1 || cfg.workers > 10000:
		return cfg, usageError(stderr, fs, "--workers %d: want 1 to 10000", cfg.workers), true
	case cfg.keyTTL < 0 || cfg.keyTTL > 0 && cfg.keyTTL < 20*time.Millisecond:
		return cfg, usageError(stderr, fs, "--key-ttl %v: want 0 (no expiry) or at least 20ms", cfg.keyTTL), true
	case cfg.revokeEvery < 0 || cfg.revokeEvery > 0 && cfg.revokeEvery < 10*time.Millisecond:
		return cfg, usageError(stderr, fs, "--revoke-every %v: want 0 (no revocations) or at least 10ms", cfg.revokeEvery), true
	case !(cfg.faultRate >= 0 && cfg.faultRate <= 1):
		return cfg, usageError(stderr, fs, "--fault-rate %v: want a fraction in [0, 1], such as 0.05", cfg.faultRate), true
	case cfg.pool != 0 && (cfg.pool < 2 || cfg.pool > 16):
		return cfg, usageError(stderr, fs, "--pool %d: want 0 (one key) or 2 to 16 keys", cfg.pool), true
	}
	return cfg, 0, false
}

// runDemo runs the demo and returns its exit code.
func runDemo(cfg demoConfig, stdout, stderr io.Writer) int {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stopSignals()

	opts := []rekeytest.Option{
		rekeytest.WithKeyTTL(cfg.keyTTL),
		rekeytest.WithFaults(faultsFor(cfg.faultRate)),
	}
	if cfg.seed != 0 {
		opts = append(opts, rekeytest.WithSeed(cfg.seed))
	}
	srv := rekeytest.NewServer(opts...)
	defer srv.Close()

	st := demoStats{poolSize: cfg.pool}
	keys := &keyLog{srv: srv, onKey: cfg.onKey}
	source := rekey.WithRefresh(keys.refresh)
	if cfg.pool > 0 {
		members := make([]credentials.Provider, cfg.pool)
		for i := range members {
			members[i] = minter{keys}
		}
		pool := credentials.NewPool(members...)
		defer pool.Close() // after the Client's Close, deferred below
		source = rekey.WithCredentials(pool)
	}
	client, err := rekey.NewClient(srv.URL+"/v1",
		source,
		rekey.WithIdempotencyKeys(),
		rekey.WithRetryPolicy(transport.RetryPolicy{MaxAttempts: 6, MinWait: 2 * time.Millisecond, MaxWait: 50 * time.Millisecond}),
		rekey.WithHooks(st.hooks()),
		rekey.WithTimeout(30*time.Second), // a stuck request fails (classified as a timeout) rather than hanging the demo
	)
	if err != nil {
		fmt.Fprintf(stderr, "rekey demo: %v\n", err)
		return exitFailed
	}
	defer client.Close()

	fmt.Fprintf(stdout, "rekey demo: %d workers for %v against an embedded API at %s\n", cfg.workers, cfg.duration, srv.URL)
	if cfg.pool > 0 {
		fmt.Fprintf(stdout, "  a pool of %d keys, primary first\n", cfg.pool)
	}
	fmt.Fprintf(stdout, "  %s; %s; %s of answers fail transiently\n\n",
		describe(cfg.keyTTL, "keys never expire", "keys live "), describe(cfg.revokeEvery, "no random revocations", "one revoked about every "),
		percent(cfg.faultRate))

	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	start := time.Now()

	var bg sync.WaitGroup
	if cfg.revokeEvery > 0 {
		bg.Add(1)
		go func() { defer bg.Done(); keys.revokeAtRandom(runCtx, cfg.revokeEvery, &st) }()
	}
	prog := startProgress(stderr, start.Add(cfg.duration), func() string { return st.line(time.Since(start), cfg.duration) })

	results := make([]workerResult, cfg.workers)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = work(runCtx, client, i, &st)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	bg.Wait()
	prog.stop()

	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "interrupted: summarising what ran")
	}
	sum := summarize(results, srv.Bodies(), srv.Stats(), &st, elapsed)
	sum.print(stdout)
	if sum.lost > 0 {
		return exitFailed
	}
	return exitOK
}

// faultsFor splits rate between dropped connections and 503s, half each.
// rekeytest draws a drop first and a 503 only for requests not dropped, so
// the 503 rate is scaled up to make the total come out at rate.
func faultsFor(rate float64) rekeytest.Faults {
	drop := rate / 2
	return rekeytest.Faults{DropRate: drop, UnavailableRate: drop / (1 - drop)}
}

// keyLog is the demo's refresh hook: it mints keys from the service and
// remembers the newest, for revoking it at random. It never prints one.
type keyLog struct {
	srv    *rekeytest.Server
	onKey  func(string)
	newest atomic.Pointer[string]
}

func (k *keyLog) refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	cred, err := k.srv.Refresh(ctx, rejected)
	if err == nil {
		if k.onKey != nil {
			k.onKey(cred.Key)
		}
		k.newest.Store(&cred.Key)
	}
	return cred, err
}

// minter is a pool member whose every read mints a key from the service:
// its first key, and a new one whenever the Pool refreshes it.
type minter struct{ keys *keyLog }

func (m minter) Retrieve(ctx context.Context) (credentials.Credential, error) {
	return m.keys.refresh(ctx, credentials.Credential{})
}

func (m minter) Refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	return m.keys.refresh(ctx, rejected)
}

// revokeAtRandom revokes the newest key at random intervals averaging every,
// until ctx ends.
func (k *keyLog) revokeAtRandom(ctx context.Context, every time.Duration, st *demoStats) {
	for {
		t := time.NewTimer(every/2 + rand.N(every)) // uniform in [every/2, 3·every/2)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if key := k.newest.Load(); key != nil && k.srv.Revoke(*key) {
			st.revocations.Add(1)
		}
	}
}

// workerResult is what one worker saw, merged by summarize.
type workerResult struct {
	latencies []time.Duration
	gets      int
	posts     int
	acked     [][]byte       // POST bodies answered 2xx (and echoed back unchanged)
	sent      [][]byte       // every POST body attempted
	mismatch  int            // POSTs answered 2xx whose echo differs from what was sent
	failures  map[string]int // failed requests by class ("" unclassified)
	examples  []string       // the first few failure messages
}

// echoBody is the part of the service's echo the demo checks.
type echoBody struct {
	Body json.RawMessage `json:"body"`
}

// work sends requests until ctx ends, alternating GET and POST. A request
// in flight when ctx ends is finished, not cancelled, so that every request
// has a definite outcome.
func work(ctx context.Context, c *rekey.Client, id int, st *demoStats) workerResult {
	res := workerResult{failures: map[string]int{}}
	for seq := 0; ctx.Err() == nil; seq++ {
		method, path, body := http.MethodGet, "echo?worker="+strconv.Itoa(id)+"&seq="+strconv.Itoa(seq), []byte(nil)
		if seq%2 == 1 {
			method, path = http.MethodPost, "echo"
			body = fmt.Appendf(nil, `{"worker":%d,"seq":%d,"note":"rekey demo"}`, id, seq)
			res.sent = append(res.sent, body)
			res.posts++
		} else {
			res.gets++
		}
		start := time.Now()
		var echo echoBody
		req, err := c.NewRequest(context.WithoutCancel(ctx), method, path, body)
		if err == nil {
			_, err = c.Do(req, &echo)
		}
		res.latencies = append(res.latencies, time.Since(start))
		st.requests.Add(1)
		if err != nil {
			st.failed.Add(1)
			class := classify(err)
			res.failures[class]++
			if len(res.examples) < 3 {
				res.examples = append(res.examples, err.Error())
			}
			continue
		}
		st.succeeded.Add(1)
		if body != nil {
			if string(echo.Body) != string(body) {
				res.mismatch++
			}
			res.acked = append(res.acked, body)
		}
	}
	return res
}

// describe renders prefix and d, or none when d is zero.
func describe(d time.Duration, none, prefix string) string {
	if d == 0 {
		return none
	}
	return prefix + d.String()
}

func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}
