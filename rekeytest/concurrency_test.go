package rekeytest_test

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// TestHundredsOfConcurrentClients runs clients against the server while the
// test reconfigures it, revokes other keys and reads Stats and Bodies, for
// the race detector, and checks that every accepted body was recorded
// exactly once, exactly as sent.
func TestHundredsOfConcurrentClients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults rekeytest.Faults
	}{
		{"jitter only: every request succeeds", rekeytest.Faults{Jitter: 2 * time.Millisecond}},
		{"drops and 503s: only answered bodies are recorded", rekeytest.Faults{DropRate: 0.2, UnavailableRate: 0.2, Jitter: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const clients = 300
			srv := newServer(t, rekeytest.WithFaults(tc.faults), rekeytest.WithSeed(7))
			key := srv.IssueKey().Key
			places := []placement{bearer, apiKeyHeader, queryParam}

			stop := make(chan struct{})
			stopChurn := sync.OnceFunc(func() { close(stop) })
			defer stopChurn() // also when the test fails on its way
			var churn sync.WaitGroup
			churn.Add(1)
			go func() { // an operator poking at the server meanwhile
				defer churn.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					srv.Revoke(srv.IssueKey().Key)
					srv.SetFaults(tc.faults)
					_ = srv.Stats()
					_ = srv.Bodies()
					_ = fmt.Sprint(srv)
				}
			}()

			var mu sync.Mutex
			var delivered, failed []string
			var wg sync.WaitGroup
			for i := 0; i < clients; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := fmt.Sprintf(`{"client": %d, "pad": "%0*d"}`, i, i%50, 0)
					a, err := trySend(t.Context(), srv, "POST", "/v1/echo", places[i%len(places)], key, body)
					mu.Lock()
					defer mu.Unlock()
					if err == nil && a.status == http.StatusOK {
						delivered = append(delivered, body)
					} else {
						failed = append(failed, body)
					}
				}()
			}
			testwait.Group(t, &wg, time.Minute, "the clients' requests") // faults and jitter: a minute on a loaded machine
			stopChurn()
			testwait.Group(t, &churn, testwait.Timeout, "the churning goroutine to stop")

			var recorded []string
			for _, b := range srv.Bodies() {
				recorded = append(recorded, string(b))
			}
			sort.Strings(recorded)
			sort.Strings(delivered)
			if fmt.Sprint(recorded) != fmt.Sprint(delivered) {
				t.Fatalf("Bodies() holds %d bodies, clients saw %d delivered; they must be the same set", len(recorded), len(delivered))
			}
			st := srv.Stats()
			if st.Accepted != int64(len(delivered)) || st.Rejections != 0 {
				t.Errorf("Accepted %d, Rejections %d; want %d, 0", st.Accepted, st.Rejections, len(delivered))
			}
			wantFailures := tc.faults.DropRate > 0
			if wantFailures != (len(failed) > 0) || wantFailures != (st.Faults.Total() > 0) {
				t.Errorf("%d failed requests, %d faults, for %+v", len(failed), st.Faults.Total(), tc.faults)
			}
		})
	}
}
