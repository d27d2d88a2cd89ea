package rekey_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// graceAPI is an API that rotates keys with a grace period: it accepts every
// key in its set, so old and new both work until the old one is revoked.
// Each request names its worker (X-Worker), and the API remembers the last
// key each worker sent.
type graceAPI struct {
	*httptest.Server
	mu         sync.Mutex
	valid      map[string]bool
	last       map[string]string // worker → last key it sent
	accepted   atomic.Int64
	rejections atomic.Int64
}

func newGraceAPI(t *testing.T, keys ...string) *graceAPI {
	a := &graceAPI{valid: map[string]bool{}, last: map[string]string{}}
	for _, k := range keys {
		a.valid[k] = true
	}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *graceAPI) serve(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	a.mu.Lock()
	ok := a.valid[key]
	if ok {
		a.last[r.Header.Get("X-Worker")] = key
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		a.rejections.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, rekeytest.InvalidKeyBody)
		return
	}
	a.accepted.Add(1)
	io.WriteString(w, `{"id": "thing_1", "name": "widget", "count": 3}`)
}

func (a *graceAPI) setValid(key string, valid bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.valid[key] = valid
}

// allSent reports whether each of the workers has sent key as its last one.
func (a *graceAPI) allSent(workers int, key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := 0; i < workers; i++ {
		if a.last[fmt.Sprint(i)] != key {
			return false
		}
	}
	return true
}

// secretVolume writes a key the way the kubelet updates a secret volume: a
// new timestamped directory, then an atomic rename of the ..data symlink.
func secretVolume(t *testing.T, dir, key string, n int) {
	t.Helper()
	ts := fmt.Sprintf("..%s_%d", time.Now().UTC().Format("2006_01_02_15_04_05.000000000"), n)
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ts, "api-key"), []byte(key+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// TestPlannedRotationThroughAFileCostsNoRejection is issue 10's proof for
// files: under load, the key in a Kubernetes secret volume is rotated while
// the API accepts both keys, and the old key is revoked only once the new
// one is in use, within the pickup bound (the poll interval plus a generous
// margin, which only a pickup that never happens exceeds). The API rejects
// nothing, no request fails, and the key is swapped exactly once, by a poll.
func TestPlannedRotationThroughAFileCostsNoRejection(t *testing.T) {
	const (
		oldKey   = "rk_test_ROTATION_OLD_000000001"
		newKey   = "rk_test_ROTATION_NEW_000000002"
		workers  = 8
		interval = 50 * time.Millisecond
		bound    = interval + 20*time.Second // the revocation would wait interval + margin
	)
	for _, tc := range []struct {
		name   string
		client func(t *testing.T, url string, p credentials.Provider, onRefresh func(credentials.RefreshEvent), rejected *atomic.Int64) func(ctx context.Context, worker int) error
	}{
		{"rekey.Client", func(t *testing.T, url string, p credentials.Provider, onRefresh func(credentials.RefreshEvent), rejected *atomic.Int64) func(context.Context, int) error {
			c, err := rekey.NewClient(url, rekey.WithCredentials(p), rekey.WithHooks(rekey.Hooks{
				KeyRejected:      func(transport.Event) { rejected.Add(1) },
				RefreshStarted:   onRefresh,
				RefreshSucceeded: onRefresh,
				RefreshFailed:    onRefresh,
			}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return func(ctx context.Context, worker int) error {
				req, err := c.NewRequest(ctx, http.MethodGet, "/v1/things/1", nil)
				if err != nil {
					return err
				}
				req.Header.Set("X-Worker", fmt.Sprint(worker))
				var v thing
				_, err = c.Do(req, &v)
				return err
			}
		}},
		{"transport.Transport", func(t *testing.T, url string, p credentials.Provider, onRefresh func(credentials.RefreshEvent), rejected *atomic.Int64) func(context.Context, int) error {
			tr := &transport.Transport{
				Credentials: &credentials.Cache{Provider: p, OnRefresh: onRefresh},
				OnEvent: func(ev transport.Event) {
					if ev.Kind == transport.EventKeyRejected {
						rejected.Add(1)
					}
				},
			}
			t.Cleanup(func() { tr.Close(); tr.Credentials.(*credentials.Cache).Close() })
			hc := &http.Client{Transport: tr}
			return func(ctx context.Context, worker int) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/things/1", nil)
				if err != nil {
					return err
				}
				req.Header.Set("X-Worker", fmt.Sprint(worker))
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			secretVolume(t, dir, oldKey, 1)
			path := filepath.Join(dir, "api-key")
			if err := os.Symlink(filepath.Join("..data", "api-key"), path); err != nil {
				t.Fatal(err)
			}
			api := newGraceAPI(t, oldKey)
			var log refreshLog
			var rejected atomic.Int64
			send := tc.client(t, api.URL,
				credentials.FileWith(path, credentials.FileOptions{PollInterval: interval}), log.record, &rejected)

			ctx, stop := context.WithCancel(context.Background())
			defer stop() // the workers end also when the test fails on its way
			var wg sync.WaitGroup
			var sent, failed atomic.Int64
			var firstErr atomic.Value
			for i := 0; i < workers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						err := send(context.Background(), i)
						sent.Add(1)
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
						}
					}
				}()
			}
			await := func(what string, timeout time.Duration, cond func() bool) {
				t.Helper()
				deadline := time.Now().Add(timeout)
				for !cond() {
					if time.Now().After(deadline) {
						stop()
						testwait.Group(t, &wg, testwait.Timeout, "the workers to stop")
						t.Fatalf("%s did not happen within %v", what, timeout)
					}
					time.Sleep(time.Millisecond)
				}
			}
			await("every worker sending the old key", bound, func() bool { return api.allSent(workers, oldKey) })

			api.setValid(newKey, true) // the rotation: the API issues the new key, the old one in its grace period
			secretVolume(t, dir, newKey, 2)
			await("the pickup of the rotated key by every worker", bound, func() bool { return api.allSent(workers, newKey) })
			api.setValid(oldKey, false) // the revocation, once the bound has passed for this client

			after := api.accepted.Load()
			await("more traffic after the revocation", bound, func() bool { return api.accepted.Load() >= after+int64(10*workers) })
			stop()
			testwait.Group(t, &wg, testwait.Timeout, "the workers to stop")

			if n := failed.Load(); n != 0 {
				t.Errorf("%d of %d requests failed; first: %v", n, sent.Load(), firstErr.Load())
			}
			if n := api.rejections.Load(); n != 0 {
				t.Errorf("the API rejected %d requests", n)
			}
			if n := rejected.Load(); n != 0 {
				t.Errorf("the client saw %d rejections", n)
			}
			if n := log.count(credentials.RefreshSucceeded, credentials.ReasonChanged); n != 1 {
				t.Errorf("%d swaps by poll, want exactly 1: %s", n, &log)
			}
			if log.len() != 4 || log.count(credentials.RefreshSucceeded, credentials.ReasonInitial) != 1 {
				t.Errorf("refresh events: %s; want the first key and the one swap, started and succeeded", &log)
			}
			t.Logf("%d requests, %d accepted, 0 rejected, refreshes: %s", sent.Load(), api.accepted.Load(), &log)
		})
	}
}
