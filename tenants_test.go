package rekey_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/testwait"
)

// settledGoroutines returns the number of goroutines once those that are
// ending have ended: it waits until two readings a few milliseconds apart
// agree.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(5 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// Clients that are not given a transport share one pool: connections and
// goroutines follow the load (here, tenantWorkers senders), not the number
// of Clients, and closing Clients leaves the pool's connections to the
// others. Keys with an expiry cost no goroutine while idle.
func TestTenantClientsShareOnePool(t *testing.T) {
	const workers = 8
	api := newTenantAPI(t, 11_000)
	base := settledGoroutines()

	small, _ := tenantClients(t, api, 0, 1_000)
	sendAll(t, small, 0, workers, "small")
	smallG, smallConns := settledGoroutines()-base, api.connsOpened.Load()

	large, _ := tenantClients(t, api, 1_000, 10_000)
	sendAll(t, large, 1_000, workers, "large")
	largeG, largeConns := settledGoroutines()-base, api.connsOpened.Load()

	t.Logf("1,000 clients: %d goroutines, %d connections opened; 11,000 clients: %d goroutines, %d connections opened",
		smallG, smallConns, largeG, largeConns)
	// Each pooled connection costs the process 3 goroutines over loopback
	// (the client's read and write loops, the server's handler). A pool
	// per Client would open one connection per Client: 1,000, then 11,000.
	// A shared pool opens about one per sender, plus one whenever a request
	// finds no idle connection at the moment it asks (more often on a
	// loaded machine): the limit is far below the clients' count, and far
	// above what the senders can make the pool need.
	if limit := int64(100); smallConns > limit || largeConns > limit {
		t.Errorf("connections opened: %d after 1,000 clients, %d after 11,000; want at most %d, whatever the number of clients", smallConns, largeConns, limit)
	}
	if limit := 3*int(largeConns) + 4; smallG > limit || largeG > limit {
		t.Errorf("goroutines: %d after 1,000 clients, %d after 11,000; want at most %d (3 per connection, plus a few), whatever the number of clients", smallG, largeG, limit)
	}

	// Closing clients leaves the shared pool's connections to the others:
	// the pool holds idle connections to the API (every sender is done), so
	// the next request, alone, reuses one, unless Close closed them.
	for _, c := range small {
		c.Close()
	}
	var reused bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
	})
	req, err := large[0].NewRequest(ctx, http.MethodGet, "echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := large[0].Do(req, nil); err != nil {
		t.Fatal(err)
	}
	if !reused {
		t.Error("after closing 1,000 clients, another client's request found no idle connection to reuse; want the shared pool left open")
	}
}

// TestTenantSoak sends from random tenants of 10,000, each with its own
// Client and key, while a twentieth of the tenants have their keys revoked
// mid-run, and checks that no request is lost, each revoked tenant refreshes
// exactly once, and no key is ever sent on another tenant's request.
func TestTenantSoak(t *testing.T) {
	const (
		tenants   = 10_000
		workers   = 16
		perWorker = 600
		rotateOne = 20 // every rotateOne-th tenant has its key revoked
	)
	api := newTenantAPI(t, tenants)
	clients, refreshes := tenantClients(t, api, 0, tenants)

	var sent, failed atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2026))
			for i := range perWorker {
				tenant := rng.IntN(tenants)
				if err := tenantGet(clients[tenant], tenant, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					failed.Add(1)
					t.Errorf("tenant %d: %v", tenant, err)
				}
				// Halfway through the run, the API revokes the keys of a
				// twentieth of the tenants, while requests are in flight.
				if sent.Add(1) == workers*perWorker/2 {
					once.Do(func() {
						for r := 0; r < tenants; r += rotateOne {
							api.revoke(r)
						}
					})
				}
			}
		}()
	}
	testwait.Group(t, &wg, time.Minute, "the soak's workers")
	// Every revoked tenant sends again, three requests at once.
	for r := 0; r < tenants; r += rotateOne {
		for k := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sent.Add(1)
				if err := tenantGet(clients[r], r, fmt.Sprintf("after-%d-%d", r, k)); err != nil {
					failed.Add(1)
					t.Errorf("tenant %d after its rotation: %v", r, err)
				}
			}()
		}
	}
	testwait.Group(t, &wg, time.Minute, "the revoked tenants' requests")

	if n := api.crossTenant.Load(); n != 0 {
		t.Errorf("%d requests carried another tenant's key", n)
	}
	api.mu.Lock()
	served := len(api.served)
	for seq, n := range api.served {
		if n != 1 {
			t.Errorf("request %s was served %d times, want once", seq, n)
		}
	}
	api.mu.Unlock()
	if int64(served) != sent.Load() || failed.Load() != 0 {
		t.Errorf("%d requests sent, %d failed, %d served; want every request served once", sent.Load(), failed.Load(), served)
	}
	for i := range refreshes {
		want := int64(0)
		if i%rotateOne == 0 {
			want = 1
		}
		if n := refreshes[i].Load(); n != want {
			t.Errorf("tenant %d refreshed %d times, want %d", i, n, want)
		}
	}
	t.Logf("%d tenants, %d requests, %d rejections recovered, %d connections opened, 0 lost", tenants, sent.Load(), api.rejected.Load(), api.connsOpened.Load())
}
