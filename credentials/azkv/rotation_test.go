package azkv_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// A planned rotation costs no rejected request: an operator sets the new
// key as a new version under load (az keyvault secret set, through the
// official client), the Cache's poll picks it up, and only then does the
// API revoke the old key. No request is rejected, none fails.
//
// The pickup bound is one PollInterval plus one poll while requests flow.
// Rather than sleep for it (a timed test on a loaded machine), the test
// waits for the Cache to report the swap (ReasonChanged), then for every
// worker to finish a request started after it, and revokes the old key
// then. The control case shows that the same rotation without polling costs
// rejections, so the count checked is not zero by construction.
//
// Both poll modes are run. Polling by listing reads the vault's value
// exactly twice however many polls run: on first use and once when the new
// version appears; polling by GET reads it at every poll.
func TestPlannedRotationCostsNoRejection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		poll  time.Duration
		byGet bool
	}{
		{name: "polling by listing", poll: 20 * time.Millisecond},
		{name: "polling by GET", poll: 20 * time.Millisecond, byGet: true},
		{name: "control without polling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := rekeytest.NewServer()
			t.Cleanup(srv.Close)
			f := newFakeKV(t)
			k1 := srv.IssueKey().Key
			v1 := f.Set("billing-api", k1)
			opts := []azkv.Option{azkv.WithPollInterval(tc.poll)}
			if tc.byGet {
				opts = append(opts, azkv.WithPollByGet())
			}
			p := newProvider(t, f, "billing-api", opts...)
			swapped := make(chan struct{})
			var once sync.Once
			logs := &logBuffer{}
			client := apiClient(t, srv, p, rekey.WithLogger(logs.logger()), rekey.WithHooks(rekey.Hooks{
				RefreshSucceeded: func(ev credentials.RefreshEvent) {
					if ev.Reason == credentials.ReasonChanged {
						once.Do(func() { close(swapped) })
					}
				},
			}))

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
						if err := get(context.Background(), client); err != nil {
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

			k2 := srv.IssueKey().Key
			v2 := setSecret(t, f.client(t, newCredential()), "billing-api", k2) // the operator's rotation
			if tc.poll > 0 {
				select {
				case <-swapped:
				case <-time.After(30 * time.Second):
					t.Fatal("the Cache did not pick up the new version within 30s")
				}
			}
			epoch.Store(1)
			testwait.Group(t, &afterSwap, testwait.Timeout, "every worker to send once after the swap")
			srv.Revoke(k1)
			n := done.Load()
			waitFor(t, "more requests after the revocation", func() bool { return done.Load() >= n+200 })
			stop.Store(true)
			testwait.Group(t, &wg, testwait.Timeout, "the workers to stop")

			st := srv.Stats()
			reads, pages := f.Reads("billing-api"), f.Pages("billing-api")
			t.Logf("%d requests; API: %d accepted, %d rejected; Key Vault: %d reads of the value (version 1: %d, version 2: %d), %d pages of versions",
				done.Load(), st.Accepted, st.Rejections, reads, f.ReadsOf(v1), f.ReadsOf(v2), pages)
			if failed.Load() != 0 {
				t.Errorf("%d requests failed, e.g. %v", failed.Load(), firstErr.Load())
			}
			if int64(reads) >= st.Accepted {
				t.Errorf("%d vault reads for %d requests: the vault is read per request", reads, st.Accepted)
			}
			if tc.poll > 0 {
				if st.Rejections != 0 {
					t.Errorf("the API rejected %d requests; want 0: the new key should be in use before the old one is revoked", st.Rejections)
				}
				if f.ReadsOf(v2) < 1 {
					t.Errorf("version 2 was never read")
				}
				if !strings.Contains(logs.String(), `"msg":"rekey: API key refreshed","reason":"changed"`) {
					t.Errorf("the client's log does not report the swap:\n%s", logs)
				}
				switch {
				case tc.byGet && pages != 0:
					t.Errorf("polling by GET listed %d pages of versions, want none", pages)
				case !tc.byGet && (reads != 2 || f.ReadsOf(v2) != 1 || pages < 1):
					t.Errorf("polling by listing: %d reads of the value (version 2: %d), %d pages; want 2 reads (first use, version 2 once) and at least one page",
						reads, f.ReadsOf(v2), pages)
				}
			} else {
				if st.Rejections == 0 {
					t.Errorf("without polling the rotation cost no rejection: the test does not tell polling apart")
				}
				if reads != 2 || f.ReadsOf(v2) != 1 {
					t.Errorf("vault reads = %d (version 2: %d); want 2: first use, then one refresh for every rejected request", reads, f.ReadsOf(v2))
				}
			}
			assertNoSecret(t, []string{k1, k2}, p, client, logs.String())
		})
	}
}
