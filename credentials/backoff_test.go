package credentials_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// A transient failure is retried DefaultRefreshAttempts times when
// RefreshAttempts is zero, with exponential backoff between the calls
// (100 ms, then 150 ms, each randomised by half), and the attempts are
// counted in the error and the refresh event. Only lower bounds on the
// waits are checked: a loaded machine can make them longer, never shorter.
func TestCacheDefaultAttemptsWithBackoff(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	unavailable := errors.New("503 from the key service")
	var failed credentials.RefreshEvent
	c := &credentials.Cache{
		Provider: credentials.Static(keyN(1)),
		Refresh: func(context.Context, credentials.Credential) (credentials.Credential, error) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			return credentials.Credential{}, unavailable
		},
		OnRefresh: func(ev credentials.RefreshEvent) {
			if ev.Phase == credentials.RefreshFailed {
				failed = ev
			}
		},
		RefreshTimeout: 10 * time.Second, // unbounded attempts would fail in seconds, not at the default 30
	}
	cur, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Invalidate(context.Background(), cur)
	if !errors.Is(err, unavailable) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("err = %v; want the source's error after 4 attempts", err)
	}
	if len(at) != credentials.DefaultRefreshAttempts {
		t.Fatalf("the source was called %d times; want DefaultRefreshAttempts (%d)", len(at), credentials.DefaultRefreshAttempts)
	}
	if failed.Attempts != credentials.DefaultRefreshAttempts {
		t.Errorf("the failure event counts %d attempts; want %d", failed.Attempts, credentials.DefaultRefreshAttempts)
	}
	for i, least := range []time.Duration{50 * time.Millisecond, 75 * time.Millisecond} {
		if gap := at[i+1].Sub(at[i]); gap < least {
			t.Errorf("wait before attempt %d: %v; want at least %v (backoff)", i+2, gap, least)
		}
	}
}
