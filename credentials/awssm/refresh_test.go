package awssm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cenkalti/backoff/v4"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// apiClient returns a rekey Client for srv whose key comes from p, with
// polling off unless the caller's Provider says otherwise.
func apiClient(t testing.TB, srv *rekeytest.Server, p credentials.Provider) *rekey.Client {
	t.Helper()
	c, err := rekey.NewClient(srv.URL, rekey.WithCredentials(p))
	if err != nil {
		t.Fatalf("rekey.NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(ctx context.Context, c *rekey.Client) error {
	req, err := c.NewRequest(ctx, "GET", "/v1/echo", nil)
	if err != nil {
		return err
	}
	_, err = c.Do(req, nil)
	return err
}

// An operator (or a rotation) puts a new key in the store, then the old key
// is revoked: the first request with the old key is rejected, and the
// refresh reads the store exactly once. Requests before never read it.
func TestRotationThenRejectionReadsOnce(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeSM(t)
	key1 := srv.IssueKey().Key
	f.Create("prod/api", key1)
	p, logs := newProvider(t, f, "prod/api", awssm.WithPollInterval(0))
	c := apiClient(t, srv, p)
	ctx := context.Background()

	for i := 0; i < 100; i++ {
		if err := get(ctx, c); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := f.Reads(); n != 1 {
		t.Fatalf("100 requests made %d reads of the store, want 1 (on first use only)", n)
	}

	key2 := srv.IssueKey().Key
	if _, err := f.client().PutSecretValue(ctx, putInput("prod/api", key2)); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	srv.Revoke(key1)
	for i := 0; i < 100; i++ {
		if err := get(ctx, c); err != nil {
			t.Fatalf("request %d after the rotation: %v", i, err)
		}
	}
	if n := f.Calls("GetSecretValue"); n != 2 {
		t.Errorf("GetSecretValue calls = %d, want 2: one on first use, exactly one for the rejection", n)
	}
	if n := f.Calls("DescribeSecret"); n != 0 {
		t.Errorf("DescribeSecret calls = %d with polling off, want 0", n)
	}
	if st := srv.Stats(); st.Rejections != 1 {
		t.Errorf("the API rejected %d requests, want 1 (the first with the revoked key)", st.Rejections)
	}
	assertNoSecret(t, []string{key1, key2}, p, c, logs.String())
}

// 200 goroutines rejected at once: one read of the store for all of them.
func TestConcurrentRejectionsReadOnce(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeSM(t)
	key1 := srv.IssueKey().Key
	f.Create("prod/api", key1)
	p, _ := newProvider(t, f, "prod/api", awssm.WithPollInterval(0))
	c := apiClient(t, srv, p)
	ctx := context.Background()
	if err := get(ctx, c); err != nil {
		t.Fatal(err)
	}

	f.Put("prod/api", srv.IssueKey().Key)
	srv.Revoke(key1)
	const n = 200
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- get(ctx, c)
		}()
	}
	close(start)
	testwait.Group(t, &wg, testwait.Timeout, "the requests")
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("request failed: %v", err)
		}
	}
	if got := f.Calls("GetSecretValue"); got != 2 {
		t.Errorf("GetSecretValue calls = %d, want 2: one on first use, one for all %d rejected goroutines", got, n)
	}
	if st := srv.Stats(); st.Rejections == 0 {
		t.Errorf("no request was rejected: the test did not exercise a refresh")
	} else {
		t.Logf("%d goroutines: %d rejections at the API, %d store reads", n, st.Rejections, f.Reads())
	}
}

// A rotation is half done: the rotation function created the AWSPENDING
// version (and set the new key at the API) but has not moved AWSCURRENT
// yet, and the old key is already revoked. The refresh finds AWSPENDING.
func TestHalfDoneRotationUsesPending(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeSM(t)
	key1 := srv.IssueKey().Key
	f.Create("prod/api", key1)
	p, logs := newProvider(t, f, "prod/api", awssm.WithPollInterval(0))
	c := apiClient(t, srv, p)
	ctx := context.Background()
	if err := get(ctx, c); err != nil {
		t.Fatal(err)
	}

	key2 := srv.IssueKey().Key
	f.BeginRotation("prod/api", &key2)
	srv.Revoke(key1)
	if err := get(ctx, c); err != nil {
		t.Fatalf("request during the rotation: %v", err)
	}
	if n := f.Calls("GetSecretValue"); n != 3 {
		t.Errorf("GetSecretValue calls = %d, want 3: first use, then AWSCURRENT and AWSPENDING once", n)
	}
	if !strings.Contains(logs.String(), "AWSPENDING") {
		t.Errorf("the switch to AWSPENDING was not logged:\n%s", logs)
	}
	assertNoSecret(t, []string{key1, key2}, logs.String())
}

// Refresh on its own, case by case: what the store holds decides the answer,
// and "nothing new" is a permanent ErrSameKey after a bounded number of reads.
func TestRefresh(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fakeSM, old, fresh string)
		wantNew   bool // the fresh key is returned
		wantReads int  // GetSecretValue calls made by Refresh
		wantLog   string
	}{
		{name: "AWSCURRENT moved on", setup: func(f *fakeSM, _, fresh string) { f.Put("s", fresh) }, wantNew: true, wantReads: 1},
		{name: "rotation under way", setup: func(f *fakeSM, _, fresh string) { f.BeginRotation("s", &fresh) }, wantNew: true, wantReads: 2, wantLog: "AWSPENDING"},
		{name: "nothing new", setup: func(*fakeSM, string, string) {}, wantReads: 2},
		{name: "AWSPENDING left on the current version", setup: func(f *fakeSM, old, _ string) {
			f.BeginRotation("s", &old)
			f.FinishRotation("s")
		}, wantReads: 2},
		{name: "empty AWSPENDING from a failed rotation", setup: func(f *fakeSM, _, _ string) { f.BeginRotation("s", nil) }, wantReads: 2, wantLog: "no usable key"},
		{name: "AWSPENDING holds the rejected key", setup: func(f *fakeSM, old, _ string) { f.BeginRotation("s", &old) }, wantReads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			old, fresh := newKey(), newKey()
			f.Create("s", old)
			p, logs := newProvider(t, f, "s")
			ctx := context.Background()
			cred, err := p.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(f, old, fresh)
			before := f.Calls("GetSecretValue")
			got, err := p.Refresh(ctx, cred)
			if reads := f.Calls("GetSecretValue") - before; reads != tt.wantReads {
				t.Errorf("Refresh made %d GetSecretValue calls, want %d", reads, tt.wantReads)
			}
			if tt.wantNew {
				if err != nil || got.Key != fresh {
					t.Fatalf("Refresh = %v, %v; want the new key", got, err)
				}
			} else {
				if !errors.Is(err, credentials.ErrSameKey) {
					t.Fatalf("Refresh = %v, %v; want an error matching credentials.ErrSameKey", got, err)
				}
				var perm *backoff.PermanentError
				if !errors.As(err, &perm) {
					t.Errorf("the error is not marked credentials.Permanent: a Cache would retry it: %v", err)
				}
				if !strings.Contains(err.Error(), "put-secret-value") || !strings.Contains(err.Error(), `"s"`) {
					t.Errorf("the error does not say which secret or what to do: %v", err)
				}
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log does not mention %q:\n%s", tt.wantLog, logs)
			}
			assertNoSecret(t, []string{old, fresh}, err, got, logs.String())
		})
	}
}

// The AWSPENDING key is rejected too (the rotation had not set it at the API
// yet): the next refresh must not flip back to the old AWSCURRENT key the
// API rejected first, but say that nothing is new.
func TestRefreshDoesNotOfferARejectedKeyAgain(t *testing.T) {
	f := newFakeSM(t)
	old, pending := newKey(), newKey()
	f.Create("s", old)
	p, _ := newProvider(t, f, "s")
	ctx := context.Background()
	cred, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.BeginRotation("s", &pending)
	got, err := p.Refresh(ctx, cred)
	if err != nil || got.Key != pending {
		t.Fatalf("first Refresh = %v, %v; want the AWSPENDING key", got, err)
	}
	got, err = p.Refresh(ctx, got)
	if !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("second Refresh = %v, %v; want ErrSameKey, not the old key again", got, err)
	}
	// Once the rotation finishes, AWSCURRENT is a new version and is used.
	f.FinishRotation("s")
	if got, err = p.Refresh(ctx, got); err != nil || got.Key != pending {
		t.Fatalf("Refresh after the rotation finished = %v, %v; want the new AWSCURRENT", got, err)
	}
}

// Nothing new in the store: the request fails at once with an error that
// matches both the API's rejection and ErrSameKey, after two reads and no
// retry loop.
func TestNothingNewFailsAtOnce(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	f := newFakeSM(t)
	key1 := srv.IssueKey().Key
	f.Create("prod/api", key1)
	p, _ := newProvider(t, f, "prod/api", awssm.WithPollInterval(0))
	c := apiClient(t, srv, p)
	ctx := context.Background()
	if err := get(ctx, c); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(key1)
	err := get(ctx, c)
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("request = %v; want an error matching rekey.ErrInvalidAPIKey and credentials.ErrSameKey", err)
	}
	if n := f.Calls("GetSecretValue"); n != 3 {
		t.Errorf("GetSecretValue calls = %d, want 3: first use, then AWSCURRENT and AWSPENDING once (no retry)", n)
	}
	assertNoSecret(t, []string{key1}, err)
}
