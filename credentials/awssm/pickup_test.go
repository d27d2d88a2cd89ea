package awssm_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// A planned rotation costs no rejected request: the key is rotated in the
// store while requests run, the Cache's poll picks the new key up, and only
// then is the old key revoked at the API. Not one request is rejected or
// fails, and the store is read only by the polls and the one read of the
// new version.
func TestPlannedRotationUnderLoadNoRejection(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(t *testing.T, f *fakeSM, sm *secretsmanager.Client, srv *rekeytest.Server) // puts a new key in the store
	}{
		{name: "operator runs PutSecretValue", rotate: func(t *testing.T, f *fakeSM, sm *secretsmanager.Client, srv *rekeytest.Server) {
			if _, err := sm.PutSecretValue(context.Background(), putInput("prod/api", srv.IssueKey().Key)); err != nil {
				t.Fatalf("PutSecretValue: %v", err)
			}
		}},
		{name: "scheduled rotation runs its function", rotate: func(t *testing.T, f *fakeSM, sm *secretsmanager.Client, srv *rekeytest.Server) {
			f.EnableRotation("prod/api", func() string { return srv.IssueKey().Key })
			if _, err := sm.RotateSecret(context.Background(), &secretsmanager.RotateSecretInput{SecretId: aws.String("prod/api")}); err != nil {
				t.Fatalf("RotateSecret: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := rekeytest.NewServer()
			t.Cleanup(srv.Close)
			f := newFakeSM(t)
			key1 := srv.IssueKey().Key
			f.Create("prod/api", key1)
			p, logs := newProvider(t, f, "prod/api", awssm.WithPollInterval(20*time.Millisecond))

			swapped := make(chan credentials.RefreshEvent, 1)
			var refreshes atomic.Int64
			c, err := rekey.NewClient(srv.URL, rekey.WithCredentials(p), rekey.WithHooks(rekey.Hooks{
				RefreshSucceeded: func(ev credentials.RefreshEvent) {
					refreshes.Add(1)
					if ev.Reason == credentials.ReasonChanged {
						select {
						case swapped <- ev:
						default:
						}
					}
				},
				RefreshFailed: func(ev credentials.RefreshEvent) { t.Errorf("refresh failed: %v", ev.Err) },
			}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })

			// The load: workers send requests back to back until stopped.
			const workers = 8
			var (
				stop   atomic.Bool
				wg     sync.WaitGroup
				done   [workers]atomic.Int64
				failed atomic.Int64
			)
			defer stop.Store(true) // also when the test fails on its way
			ctx := context.Background()
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						if err := get(ctx, c); err != nil {
							failed.Add(1)
							t.Errorf("worker %d: %v", w, err)
						}
						done[w].Add(1)
					}
				}()
			}
			// waitEach waits until every worker has completed n more requests.
			waitEach := func(n int64) {
				var base [workers]int64
				for w := range done {
					base[w] = done[w].Load()
				}
				for w := range done {
					testwait.Until(t, testwait.Timeout, fmt.Sprintf("worker %d to complete %d more requests", w, n),
						func() bool { return done[w].Load() >= base[w]+n })
				}
			}
			waitEach(5)

			tt.rotate(t, f, f.client(), srv)
			select {
			case <-swapped:
			case <-time.After(30 * time.Second):
				t.Fatal("the Cache did not pick up the rotated key")
			}
			// Every request that took the old key before the swap has
			// finished once each worker completed two more.
			waitEach(2)
			if !srv.Revoke(key1) {
				t.Fatal("the old key was not live at the API")
			}
			waitEach(20)
			stop.Store(true)
			testwait.Group(t, &wg, testwait.Timeout, "the workers to stop")

			st := srv.Stats()
			t.Logf("%d requests accepted, %d rejected, %d failed; store: %d GetSecretValue, %d DescribeSecret; %d refreshes",
				st.Accepted, st.Rejections, failed.Load(), f.Calls("GetSecretValue"), f.Calls("DescribeSecret"), refreshes.Load())
			if st.Rejections != 0 || failed.Load() != 0 {
				t.Errorf("%d rejections and %d failed requests, want 0 and 0", st.Rejections, failed.Load())
			}
			if n := f.Calls("GetSecretValue"); n != 2 {
				t.Errorf("GetSecretValue calls = %d, want 2: the first key and the rotated one", n)
			}
			if n := f.Calls("DescribeSecret"); n < 1 {
				t.Errorf("DescribeSecret calls = %d: the key was not found by polling", n)
			}
			if accepted := st.Accepted; int64(f.Reads()) >= accepted {
				t.Errorf("%d store reads for %d requests: the store is read per request", f.Reads(), accepted)
			}
			assertNoSecret(t, []string{key1}, p, c, logs.String())
		})
	}
}
