package grpcrekey_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// TestConcurrentRejectionsOneRefresh: 1,000 calls in flight with a key the
// server has just revoked are all rejected, and all recover through one
// refresh. The refresh hook holds the new key back until the server has
// rejected every one of them, so that each call really saw the rejection
// while the refresh was under way (none was merely sent after it).
func TestConcurrentRejectionsOneRefresh(t *testing.T) {
	const calls = 1000
	api := newGoogleAPI(t)
	gate := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		deadline := time.After(20 * time.Second)
		for api.rejected.Load() < calls {
			select {
			case <-deadline:
				return api.mint(ctx, rejected) // the counts below will say what went wrong
			case <-ctx.Done():
				return credentials.Credential{}, ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return api.mint(ctx, rejected)
	}
	first := api.current()
	rec := &recorder{}
	rk, err := grpcrekey.New(credentials.Static(first), grpcrekey.WithMetadataKey("x-goog-api-key"),
		grpcrekey.WithRefresh(gate), grpcrekey.WithHooks(rec.hooks()))
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	client := api.dial(t, rk.DialOptions())
	warmUp(t, client)
	api.rotate()

	ctx := callCtx(t)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprint(i)
			got, err := unaryCall(ctx, client, body)
			if err == nil && got != body {
				err = fmt.Errorf("answer %q for %q", got, body)
			}
			errs[i] = err
		}()
	}
	testwait.Group(t, &wg, time.Minute, "the 1000 calls")
	failed := 0
	for _, err := range errs {
		if err != nil {
			if failed < 3 {
				t.Errorf("call failed: %v", err)
			}
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d calls failed; want 0", failed, calls)
	}
	if m := api.mints.Load(); m != 1 {
		t.Errorf("%d refreshes for %d rejected calls; want 1", m, calls)
	}
	if r := api.rejected.Load(); r != calls {
		t.Errorf("server rejected %d calls; want %d", r, calls)
	}
	rec.mu.Lock()
	seen := rec.rejected
	rec.mu.Unlock()
	if seen != calls {
		t.Errorf("%d rejections reported to the hooks; want %d", seen, calls)
	}
	t.Logf("%d concurrent calls rejected, %d refresh, %d calls on the server (replays included)", api.rejected.Load(), api.mints.Load(), api.calls.Load())
}
