package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// The load of TestRefreshUnderResets: refreshWorkers goroutines send
// refreshRequests GETs each; every key is revoked each refreshRotateEvery
// completed requests, so each rotation needs a refresh through the faulty
// link.
const (
	refreshWorkers     = 4
	refreshRequests    = 40 // per worker
	refreshRotateEvery = 10
	refreshAttempts    = 4 // the Cache's RefreshAttempts
	// minBackoff is the least wait between two calls of one refresh: the
	// Cache's backoff starts at 100 ms, randomised by half either way.
	minBackoff = 50 * time.Millisecond
)

// refreshCall is one call of the refresh hook.
type refreshCall struct {
	refresh uint64 // RefreshEvent.ID of the refresh it belongs to
	at      time.Time
	err     error
}

// refreshLog records, in order, the refreshes of a Cache and the calls of
// its hook. The Cache runs one refresh at a time, so calls between a
// refresh's start and its end belong to it.
type refreshLog struct {
	mu      sync.Mutex
	current uint64 // the refresh under way; 0: none
	calls   []refreshCall
	events  []credentials.RefreshEvent
}

func (l *refreshLog) onRefresh(ev credentials.RefreshEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	if ev.Phase == credentials.RefreshStarted {
		l.current = ev.ID
		return
	}
	l.current = 0
}

func (l *refreshLog) call(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, refreshCall{refresh: l.current, at: time.Now(), err: err})
}

// keyMinter returns a refresh hook that mints a key with POST /v1/keys at
// baseURL (the key endpoint, through a fault proxy), authorised by the
// account secret, over a connection of its own each time, so that each
// attempt draws again whether the proxy's toxics hit it. It records each
// call in log.
func keyMinter(t *testing.T, baseURL, secret string, log *refreshLog) credentials.RefreshFunc {
	pool := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(pool.CloseIdleConnections)
	hc := &http.Client{Transport: pool}
	return func(ctx context.Context, _ credentials.Credential) (credentials.Credential, error) {
		cred, err := mintKey(ctx, hc, baseURL, secret)
		log.call(err)
		return cred, err
	}
}

func mintKey(ctx context.Context, hc *http.Client, baseURL, secret string) (credentials.Credential, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/keys", nil)
	if err != nil {
		return credentials.Credential{}, err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := hc.Do(req)
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("minting a key: %w", err)
	}
	defer resp.Body.Close()
	var got struct {
		Key string `json:"key"`
	}
	if resp.StatusCode != http.StatusCreated {
		return credentials.Credential{}, fmt.Errorf("minting a key: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return credentials.Credential{}, fmt.Errorf("minting a key: reading the answer: %w", err)
	}
	return credentials.Credential{Key: got.Key}, nil
}

// TestRefreshUnderResets puts Toxiproxy's reset_peer between rekey's
// refresh hook and the key endpoint, in both directions (the request
// reset before it arrives, and the answer reset after the key was minted),
// while the API revokes every key every refreshRotateEvery requests, and
// checks that:
//
//   - a refresh call whose connection was reset is retried, after a backoff
//     of at least minBackoff, and no refresh calls more than
//     refreshAttempts times;
//   - the Cache is never without a key: a goroutine reading it throughout
//     the run always gets one, failed refreshes included;
//   - every request succeeded or failed with a classified error, and once
//     the faults stop, the next request succeeds.
func TestRefreshUnderResets(t *testing.T) {
	srv := rekeytest.NewServer(rekeytest.WithSeed(21))
	t.Cleanup(srv.Close)
	px := newFaultProxy(t, "keys", srv.URL)
	toxics := []toxic{
		{Name: "reset-up", Type: "reset_peer", Stream: "upstream", Toxicity: 0.25, Attributes: map[string]int{"timeout": 0}},
		{Name: "reset-down", Type: "reset_peer", Stream: "downstream", Toxicity: 0.25, Attributes: map[string]int{"timeout": 0}},
	}
	log := &refreshLog{}
	cache := &credentials.Cache{
		Refresh:             keyMinter(t, px.URL, srv.AccountSecret(), log),
		RefreshAttempts:     refreshAttempts,
		Cooldown:            10 * time.Millisecond, // so that a refresh that failed every attempt is tried again soon
		RejectedKeyCooldown: 5 * time.Millisecond,
		OnRefresh:           log.onRefresh,
	}
	t.Cleanup(func() { cache.Close() })
	client, err := rekey.NewClient(srv.URL+"/v1", rekey.WithCredentials(cache))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	// The first key comes before the faults: a Cache that never had one
	// has nothing to keep.
	if err := get(client); err != nil {
		t.Fatalf("the first request, before any fault: %v", err)
	}
	px.set(t, toxics)

	// The reader: the Cache's key, read throughout the run.
	stop := make(chan struct{})
	stopReader := sync.OnceFunc(func() { close(stop) })
	defer stopReader() // the reader ends also when the test fails on its way
	var reads atomic.Int64
	readErrs := make(chan error, 1)
	var readerDone sync.WaitGroup
	readerDone.Add(1)
	go func() {
		defer readerDone.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cred, err := cache.Retrieve(ctx)
			cancel()
			if err == nil && cred.Key == "" {
				err = errors.New("an empty key")
			}
			if err != nil {
				select {
				case readErrs <- err:
				default:
				}
				return
			}
			reads.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()

	var done atomic.Int64
	failed := make([]map[string]int, refreshWorkers)
	var wg sync.WaitGroup
	for w := range refreshWorkers {
		failed[w] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range refreshRequests {
				err := get(client)
				if done.Add(1)%refreshRotateEvery == 0 {
					srv.RotateAll()
				}
				if err != nil {
					failed[w][refreshFailureClass(err)]++
				}
			}
		}()
	}
	testwait.Group(t, &wg, 5*time.Minute, "the workers' requests") // faults on a loaded machine: minutes at worst
	stopReader()
	testwait.Group(t, &readerDone, 2*testwait.Timeout, "the reader to stop") // its Retrieve is bounded at 10 s
	select {
	case err := <-readErrs:
		t.Errorf("reading the Cache during the run: %v", err)
	default:
	}

	// The faults stop: the next request succeeds, whatever the Cache went
	// through.
	px.clear()
	time.Sleep(20 * time.Millisecond) // past the Cooldown of a refresh that failed last
	if err := get(client); err != nil {
		t.Errorf("the first request after the faults stopped: %v", err)
	}

	classes := map[string]int{}
	for _, f := range failed {
		for c, n := range f {
			classes[c] += n
			if c == "" {
				t.Errorf("%d requests failed with an unclassified error", n)
			}
		}
	}
	checkRefreshLog(t, log, reads.Load(), classes)
}

// get sends one GET with a deadline far longer than it takes.
func get(c *rekey.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := c.NewRequest(ctx, http.MethodGet, "echo", nil)
	if err != nil {
		return err
	}
	_, err = c.Do(req, nil)
	return err
}

// refreshFailureClass classifies a request's failure when only refreshes
// meet faults: its refresh failed every attempt (or it came within the
// Cooldown after one that did), or a rotation overtook its replay.
func refreshFailureClass(err error) string {
	switch {
	case errors.Is(err, rekey.ErrRefreshFailed) && errors.Is(err, credentials.ErrRefreshedKeyRejected):
		return "replay rejected, cooling down"
	case errors.Is(err, rekey.ErrRefreshFailed) && isReset(err):
		return "refresh failed: connection reset"
	case errors.Is(err, rekey.ErrInvalidAPIKey):
		return "invalid key"
	}
	return ""
}

// isReset reports whether err is a connection reset or closed early, as
// reset_peer causes.
func isReset(err error) bool {
	var netErr net.Error
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &netErr)
}

// checkRefreshLog asserts what TestRefreshUnderResets promises of the
// refreshes, and logs their counts.
func checkRefreshLog(t *testing.T, l *refreshLog, reads int64, requestFailures map[string]int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	byRefresh := map[uint64][]refreshCall{}
	var failedCalls int
	for _, c := range l.calls {
		if c.refresh == 0 {
			t.Errorf("a refresh hook call outside any refresh")
		}
		byRefresh[c.refresh] = append(byRefresh[c.refresh], c)
		if c.err != nil {
			failedCalls++
			if !isReset(c.err) {
				t.Errorf("a refresh call failed for another reason than the reset: %v", c.err)
			}
		}
	}
	var refreshes, retried, recovered, gaveUp int
	for _, ev := range l.events {
		if ev.Phase == credentials.RefreshStarted {
			refreshes++
			continue
		}
		calls := byRefresh[ev.ID]
		if len(calls) != ev.Attempts {
			t.Errorf("refresh %d reports %d attempts; the hook saw %d calls", ev.ID, ev.Attempts, len(calls))
		}
		if ev.Attempts > refreshAttempts {
			t.Errorf("refresh %d made %d attempts, more than RefreshAttempts (%d)", ev.ID, ev.Attempts, refreshAttempts)
		}
		for i := 1; i < len(calls); i++ {
			if gap := calls[i].at.Sub(calls[i-1].at); gap < minBackoff {
				t.Errorf("refresh %d: attempt %d came %v after the one before; want a backoff of at least %v", ev.ID, i+1, gap, minBackoff)
			}
			if calls[i-1].err == nil {
				t.Errorf("refresh %d: attempt %d followed a successful one", ev.ID, i+1)
			}
		}
		if len(calls) > 1 {
			retried++
		}
		switch ev.Phase {
		case credentials.RefreshSucceeded:
			if len(calls) > 1 {
				recovered++
			}
		case credentials.RefreshFailed:
			gaveUp++
			if ev.Attempts != refreshAttempts {
				t.Errorf("refresh %d gave up after %d attempts, want %d: %v", ev.ID, ev.Attempts, refreshAttempts, ev.Err)
			}
		}
	}
	if failedCalls == 0 || recovered == 0 {
		t.Errorf("%d failed calls, %d refreshes recovered by a retry: the resets hit too little to judge", failedCalls, recovered)
	}
	if reads == 0 {
		t.Error("the Cache was never read during the run")
	}
	t.Logf("reset_peer on the key endpoint: %d refreshes, %d hook calls (%d reset), %d refreshes retried (%d recovered, %d gave up after %d attempts); the Cache was read %d times, never without a key; requests failed: %s",
		refreshes, len(l.calls), failedCalls, retried, recovered, gaveUp, refreshAttempts, reads, classText(requestFailures))
}
