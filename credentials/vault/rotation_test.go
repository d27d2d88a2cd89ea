package vault_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/vault"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// apiSetup starts the fake API with one key, stored in the fake Vault as
// version 1, and a rekey Client reading it through the Provider.
// The Client logs to the returned buffer (refresh and poll events included)
// and reports to hooks.
func apiSetup(t *testing.T, f *fakeVault, hooks rekey.Hooks, opts ...vault.Option) (*rekeytest.Server, credentials.Credential, *rekey.Client, *logBuffer) {
	t.Helper()
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	k1 := srv.IssueKey()
	f.put(mountPath, keyData(k1.Key))
	p := newProvider(t, f, opts...)
	logs := new(logBuffer)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := rekey.NewClient(srv.URL, rekey.WithCredentials(p), rekey.WithLogger(logger), rekey.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return srv, k1, client, logs
}

// logBuffer is a log destination that background polls may write to while
// a test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func echo(ctx context.Context, c *rekey.Client) error {
	req, err := c.NewRequest(ctx, "GET", "/v1/echo", nil)
	if err != nil {
		return err
	}
	_, err = c.Do(req, nil)
	return err
}

// Vault is read once per key, never per request.
func TestClientReadsVaultOncePerKey(t *testing.T) {
	f := newFakeVault(t)
	_, _, client, _ := apiSetup(t, f, rekey.Hooks{}, vault.WithPollInterval(0))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if err := echo(context.Background(), client); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	testwait.Group(t, &wg, testwait.Timeout, "the 500 requests")
	if failed.Load() != 0 {
		t.Fatalf("%d of 500 requests failed", failed.Load())
	}
	if f.dataReads.Load() != 1 || f.requests.Load() != 1 {
		t.Errorf("500 requests made %d data reads (%d requests) to Vault; want 1", f.dataReads.Load(), f.requests.Load())
	}
}

// A new version written in Vault, then the API revokes the old key: 200
// requests in flight are rejected, the key is read once, and every request
// succeeds on its replay.
func TestClientRecoversFromARotationInVault(t *testing.T) {
	f := newFakeVault(t)
	srv, k1, client, logs := apiSetup(t, f, rekey.Hooks{}, vault.WithPollInterval(0))
	ctx := context.Background()
	if err := echo(ctx, client); err != nil {
		t.Fatal(err)
	}
	k2 := srv.IssueKey()
	f.put(mountPath, keyData(k2.Key))
	srv.Revoke(k1.Key)
	before := f.dataReads.Load()
	var wg, start sync.WaitGroup
	start.Add(1)
	errs := make(chan error, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			if err := echo(ctx, client); err != nil {
				errs <- err
			}
		}()
	}
	start.Done()
	testwait.Group(t, &wg, testwait.Timeout, "the 200 requests")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.dataReads.Load() - before; got != 1 {
		t.Errorf("recovery read Vault %d times; want exactly 1", got)
	}
	if st := srv.Stats(); st.Rejections == 0 {
		t.Errorf("the API rejected nothing: the test did not exercise a rejection")
	}
	assertNoSecret(t, "client logs", logs.String(), k1.Key, k2.Key)
}

// The API revokes the key but nobody wrote a new version: the request fails
// at once with an error that says so, after one read of Vault.
func TestClientUnchangedVersionFailsAtOnce(t *testing.T) {
	f := newFakeVault(t)
	srv, k1, client, logs := apiSetup(t, f, rekey.Hooks{}, vault.WithPollInterval(0))
	ctx := context.Background()
	if err := echo(ctx, client); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(k1.Key)
	before := f.requests.Load()
	err := echo(ctx, client)
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("error = %v; want ErrInvalidAPIKey and ErrSameKey", err)
	}
	if !strings.Contains(err.Error(), "version 1 is still the latest") {
		t.Errorf("error %q does not say that Vault holds nothing newer", err)
	}
	if got := f.requests.Load() - before; got != 1 {
		t.Errorf("made %d requests to Vault; want 1 (no retry, no backoff)", got)
	}
	if !strings.Contains(logs.String(), `"attempts":1,"error":"vault: refresh secret/data/myapp/billing: nothing newer`) {
		t.Errorf("the client's log does not report the one failed refresh:\n%s", logs)
	}
	assertNoSecret(t, "error", err, k1.Key)
	assertNoSecret(t, "client logs", logs.String(), k1.Key)
	assertNoSecret(t, "client", client, k1.Key)
}

// A planned rotation costs no rejected request: the new version is written
// in Vault under load, the Cache's poll picks it up, and only then does the
// API revoke the old key. No request is rejected, none fails.
//
// The pickup bound is one PollInterval plus one poll while requests flow.
// Rather than sleep for it (a timed test on a loaded machine), the test
// waits for the Cache to report the swap (ReasonChanged), then for every
// worker to finish a request started after it, and revokes the old key
// then. The control case shows that the same rotation without polling costs
// a rejection, so the count checked is not zero by construction.
func TestPlannedRotationCostsNoRejection(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll time.Duration
	}{{"polling", 20 * time.Millisecond}, {"control without polling", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeVault(t)
			swapped := make(chan struct{})
			var once sync.Once
			srv, k1, client, logs := apiSetup(t, f, rekey.Hooks{RefreshSucceeded: func(ev credentials.RefreshEvent) {
				if ev.Reason == credentials.ReasonChanged {
					once.Do(func() { close(swapped) })
				}
			}}, vault.WithPollInterval(tc.poll))

			const workers = 8
			var epoch atomic.Int64 // 1 once the new key is in the Cache
			var stop atomic.Bool
			var failed, done atomic.Int64
			var firstErr atomic.Value
			var wg, afterSwap sync.WaitGroup
			defer stop.Store(true) // the workers end also when the test fails on its way
			afterSwap.Add(workers)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					marked := false
					for !stop.Load() {
						e := epoch.Load()
						if err := echo(context.Background(), client); err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
						}
						done.Add(1)
						if e == 1 && !marked {
							marked = true
							afterSwap.Done()
						}
					}
					if !marked {
						afterSwap.Done()
					}
				}()
			}
			waitFor(t, "load to start", func() bool { return done.Load() >= 50 })

			k2 := srv.IssueKey()
			f.put(mountPath, keyData(k2.Key))
			if tc.poll > 0 {
				select {
				case <-swapped:
				case <-time.After(30 * time.Second):
					t.Fatal("the Cache did not pick up the new version within 30s")
				}
			}
			epoch.Store(1)
			testwait.Group(t, &afterSwap, testwait.Timeout, "every worker to send once after the swap")
			srv.Revoke(k1.Key)
			n := done.Load()
			waitFor(t, "more requests after the revocation", func() bool { return done.Load() >= n+200 })
			stop.Store(true)
			testwait.Group(t, &wg, testwait.Timeout, "the workers to stop")

			st := srv.Stats()
			t.Logf("%d requests; API: %d accepted, %d rejected; Vault: %d data reads, %d metadata reads",
				done.Load(), st.Accepted, st.Rejections, f.dataReads.Load(), f.metaReads.Load())
			if failed.Load() != 0 {
				t.Errorf("%d requests failed, e.g. %v", failed.Load(), firstErr.Load())
			}
			if tc.poll > 0 {
				if st.Rejections != 0 {
					t.Errorf("the API rejected %d requests; want 0: the new key should be in use before the old one is revoked", st.Rejections)
				}
				if f.dataReads.Load() != 2 || f.versionReads(2) != 1 {
					t.Errorf("Vault data reads = %d (version 2: %d); want 2: the first key, then version 2 once", f.dataReads.Load(), f.versionReads(2))
				}
			} else if st.Rejections == 0 {
				t.Errorf("without polling the rotation cost no rejection: the test does not tell polling apart")
			}
			if tc.poll > 0 && !strings.Contains(logs.String(), `"msg":"rekey: API key refreshed","reason":"changed"`) {
				t.Errorf("the client's log does not report the swap:\n%s", logs)
			}
			assertNoSecret(t, "client logs", logs.String(), k1.Key, k2.Key)
		})
	}
}

// waitFor waits for cond, failing the test after a generous bound: a
// deadline against hangs, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Vault sealed while the key is in use: polls fail and say so through
// OnRefresh, the key in use stays in use, and no request fails.
func TestSealedVaultKeepsTheKeyInUse(t *testing.T) {
	f := newFakeVault(t)
	failedPoll := make(chan error, 1)
	_, k1, client, logs := apiSetup(t, f, rekey.Hooks{RefreshFailed: func(ev credentials.RefreshEvent) {
		if ev.Reason == credentials.ReasonChanged {
			select {
			case failedPoll <- ev.Err:
			default:
			}
		}
	}}, vault.WithPollInterval(10*time.Millisecond))
	ctx := context.Background()
	if err := echo(ctx, client); err != nil {
		t.Fatal(err)
	}
	f.setSealed(true)
	var pollErr error
	waitFor(t, "a failed poll", func() bool {
		if err := echo(ctx, client); err != nil {
			t.Fatalf("a request failed while Vault was sealed: %v", err)
		}
		select {
		case pollErr = <-failedPoll:
			return true
		default:
			return false
		}
	})
	if !errors.Is(pollErr, vault.ErrSealed) {
		t.Errorf("poll error = %v; want ErrSealed", pollErr)
	}
	for range 20 {
		if err := echo(ctx, client); err != nil {
			t.Fatalf("a request failed while Vault was sealed: %v", err)
		}
	}
	client.Close() // waits for a poll still under way, which may be logging
	if !strings.Contains(logs.String(), "Vault is sealed") {
		t.Errorf("the client's log does not report the failed poll:\n%s", logs)
	}
	assertNoSecret(t, "poll error", pollErr, k1.Key)
	assertNoSecret(t, "client logs", logs.String(), k1.Key)
}
