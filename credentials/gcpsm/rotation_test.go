package gcpsm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/gcpsm"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// apiSetup starts the fake API with one key, stored in the fake Secret
// Manager as version 1, and a rekey Client reading it through the Provider.
// The Client logs to the returned buffer and reports to hooks.
func apiSetup(t *testing.T, f *fakeSM, hooks rekey.Hooks, opts ...gcpsm.Option) (*rekeytest.Server, credentials.Credential, *rekey.Client, *logBuffer) {
	t.Helper()
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	k1 := srv.IssueKey()
	f.put(secretID, k1.Key)
	p, logs := newProvider(t, f, opts...)
	client, err := rekey.NewClient(srv.URL, rekey.WithCredentials(p), rekey.WithLogger(logs.logger()), rekey.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return srv, k1, client, logs
}

func echo(ctx context.Context, c *rekey.Client) error {
	req, err := c.NewRequest(ctx, "GET", "/v1/echo", nil)
	if err != nil {
		return err
	}
	_, err = c.Do(req, nil)
	return err
}

// addVersion is what a rotation does: AddSecretVersion through the official
// client.
func addVersion(t *testing.T, f *fakeSM, key string) {
	t.Helper()
	if _, err := f.client(t).AddSecretVersion(context.Background(), &secretmanagerpb.AddSecretVersionRequest{
		Parent: secretName, Payload: &secretmanagerpb.SecretPayload{Data: []byte(key)}}); err != nil {
		t.Fatalf("AddSecretVersion: %v", err)
	}
}

// Secret Manager is read once per key, never per request.
func TestClientReadsOncePerKey(t *testing.T) {
	f := newFakeSM(t)
	_, _, client, _ := apiSetup(t, f, rekey.Hooks{}, gcpsm.WithPollInterval(0))
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
	if n := f.count("AccessSecretVersion"); n != 1 {
		t.Errorf("500 requests made %d AccessSecretVersion calls; want 1", n)
	}
}

// A new version added, then the old key revoked: the first request with the
// old key is rejected, and the refresh costs exactly one store read.
func TestRotationThenRejectionReadsOnce(t *testing.T) {
	f := newFakeSM(t)
	srv, k1, client, logs := apiSetup(t, f, rekey.Hooks{}, gcpsm.WithPollInterval(0))
	ctx := context.Background()
	if err := echo(ctx, client); err != nil {
		t.Fatal(err)
	}
	k2 := srv.IssueKey()
	addVersion(t, f, k2.Key)
	srv.Revoke(k1.Key)
	f.resetCounts()
	for i := range 100 {
		if err := echo(ctx, client); err != nil {
			t.Fatalf("request %d after the rotation: %v", i, err)
		}
	}
	if n := f.count("AccessSecretVersion"); n != 1 {
		t.Errorf("the rotation cost %d AccessSecretVersion calls; want exactly 1", n)
	}
	if n := f.count("GetSecretVersion"); n != 0 {
		t.Errorf("GetSecretVersion calls = %d with polling off; want 0", n)
	}
	if st := srv.Stats(); st.Rejections != 1 {
		t.Errorf("the API rejected %d requests; want 1 (the first with the revoked key)", st.Rejections)
	}
	assertNoSecret(t, []string{k1.Key, k2.Key}, client, logs.String())
}

// 200 goroutines rejected at once: one store read for all of them.
func TestConcurrentRejectionsReadOnce(t *testing.T) {
	f := newFakeSM(t)
	srv, k1, client, logs := apiSetup(t, f, rekey.Hooks{}, gcpsm.WithPollInterval(0))
	ctx := context.Background()
	if err := echo(ctx, client); err != nil {
		t.Fatal(err)
	}
	k2 := srv.IssueKey()
	addVersion(t, f, k2.Key)
	srv.Revoke(k1.Key)
	f.resetCounts()
	const n = 200
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := echo(ctx, client); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	testwait.Group(t, &wg, testwait.Timeout, "the 200 requests")
	close(errs)
	for err := range errs {
		t.Errorf("request failed: %v", err)
	}
	if got := f.count("AccessSecretVersion"); got != 1 {
		t.Errorf("AccessSecretVersion calls = %d; want 1 for all %d goroutines", got, n)
	}
	st := srv.Stats()
	if st.Rejections == 0 {
		t.Errorf("the API rejected nothing: the test did not exercise a refresh")
	}
	t.Logf("%d goroutines: %d rejections at the API, %d store reads", n, st.Rejections, f.count("AccessSecretVersion"))
	assertNoSecret(t, []string{k1.Key, k2.Key}, logs.String())
}

// The API revokes the key but nobody added a version: the request fails at
// once with an error that says so, after one read and no retry.
func TestNothingNewFailsAtOnce(t *testing.T) {
	f := newFakeSM(t)
	srv, k1, client, logs := apiSetup(t, f, rekey.Hooks{}, gcpsm.WithPollInterval(0))
	ctx := context.Background()
	if err := echo(ctx, client); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(k1.Key)
	f.resetCounts()
	err := echo(ctx, client)
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("error = %v; want ErrInvalidAPIKey and ErrSameKey", err)
	}
	if !strings.Contains(err.Error(), `version 1 is still the one "latest" (the newest enabled version) names`) {
		t.Errorf("error %q does not say that the store holds nothing newer", err)
	}
	if n := f.count("AccessSecretVersion"); n != 1 {
		t.Errorf("made %d AccessSecretVersion calls; want 1 (no retry, no backoff)", n)
	}
	if !strings.Contains(logs.String(), `"attempts":1`) {
		t.Errorf("the client's log does not report the one failed refresh:\n%s", logs)
	}
	assertNoSecret(t, []string{k1.Key}, err, client, logs.String())
}

// A planned rotation costs no rejected request: the new version is added
// under load, the Cache's poll picks it up, and only then does the API
// revoke the old key. No request is rejected, none fails.
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
			f := newFakeSM(t)
			swapped := make(chan struct{})
			var once sync.Once
			srv, k1, client, logs := apiSetup(t, f, rekey.Hooks{RefreshSucceeded: func(ev credentials.RefreshEvent) {
				if ev.Reason == credentials.ReasonChanged {
					once.Do(func() { close(swapped) })
				}
			}}, gcpsm.WithPollInterval(tc.poll))

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
			addVersion(t, f, k2.Key)
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
			access, get := f.count("AccessSecretVersion"), f.count("GetSecretVersion")
			t.Logf("%d requests; API: %d accepted, %d rejected; Secret Manager: %d AccessSecretVersion, %d GetSecretVersion",
				done.Load(), st.Accepted, st.Rejections, access, get)
			if failed.Load() != 0 {
				t.Errorf("%d requests failed, e.g. %v", failed.Load(), firstErr.Load())
			}
			if tc.poll > 0 {
				if st.Rejections != 0 {
					t.Errorf("the API rejected %d requests; want 0: the new key should be in use before the old one is revoked", st.Rejections)
				}
				if access != 2 || get < 1 {
					t.Errorf("AccessSecretVersion = %d, GetSecretVersion = %d; want 2 (the first key, then version 2 once) and at least 1", access, get)
				}
				if !strings.Contains(logs.String(), `"msg":"rekey: API key refreshed","reason":"changed"`) {
					t.Errorf("the client's log does not report the swap:\n%s", logs)
				}
			} else {
				if st.Rejections == 0 {
					t.Errorf("without polling the rotation cost no rejection: the test does not tell polling apart")
				}
				if access != 2 || get != 0 {
					t.Errorf("AccessSecretVersion = %d, GetSecretVersion = %d; want 2 (first key, the refresh after the rejection) and 0", access, get)
				}
			}
			if int64(access+get) >= st.Accepted {
				t.Errorf("%d store calls for %d requests: the store is read per request", access+get, st.Accepted)
			}
			assertNoSecret(t, []string{k1.Key, k2.Key}, client, logs.String())
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
