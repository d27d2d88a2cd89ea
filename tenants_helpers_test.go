package rekey_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

// tenantAPI is a loopback API that issues each tenant its own keys and
// checks every request's key against the tenant named in its path,
// /t/<tenant>/echo: a key of another tenant is counted (crossTenant) and
// refused with 403, a revoked or unknown key gets the invalid-key 401. It
// counts the connections it accepted and still has open.
type tenantAPI struct {
	*httptest.Server

	mu     sync.Mutex
	owner  map[string]int           // key → tenant, for keys not revoked
	issued []int                    // keys issued per tenant
	served map[string]int           // X-Seq of requests answered 200 → times
	first  []credentials.Credential // if set by premint, each tenant's first key

	// noRecord turns off served, so that a benchmark of the clients'
	// memory does not count the API's.
	noRecord bool

	crossTenant atomic.Int64
	rejected    atomic.Int64
	connsOpened atomic.Int64
	connsOpen   atomic.Int64
}

func newTenantAPI(t testing.TB, tenants int) *tenantAPI {
	t.Helper()
	a := &tenantAPI{owner: map[string]int{}, issued: make([]int, tenants), served: map[string]int{}}
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			a.connsOpened.Add(1)
			a.connsOpen.Add(1)
		case http.StateClosed, http.StateHijacked:
			a.connsOpen.Add(-1)
		}
	}
	a.Start()
	t.Cleanup(a.Close)
	return a
}

// mint issues tenant a new key, which the API accepts from then on.
func (a *tenantAPI) mint(tenant int) credentials.Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.issued[tenant]++
	key := fmt.Sprintf("rk_test_t%06d_k%03d_secret", tenant, a.issued[tenant])
	a.owner[key] = tenant
	return credentials.Credential{Key: key}
}

// premint issues every tenant its first key now, so that tenantClients
// does not grow the API's state (for memory benchmarks of the clients).
func (a *tenantAPI) premint() {
	first := make([]credentials.Credential, len(a.issued))
	for i := range first {
		first[i] = a.mint(i)
	}
	a.first = first
}

// revoke makes the API reject every key of tenant issued so far.
func (a *tenantAPI) revoke(tenant int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, owner := range a.owner {
		if owner == tenant {
			delete(a.owner, k)
		}
	}
}

func (a *tenantAPI) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/t/")
	id, _, _ := strings.Cut(rest, "/")
	tenant, err := strconv.Atoi(id)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	a.mu.Lock()
	owner, valid := a.owner[key]
	if valid && owner == tenant && !a.noRecord {
		a.served[r.Header.Get("X-Seq")]++
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case !valid:
		a.rejected.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, rekeytest.InvalidKeyBody)
	case owner != tenant:
		a.crossTenant.Add(1)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error": "Forbidden", "message": "this key belongs to another tenant"}`)
	default:
		fmt.Fprintf(w, `{"tenant": %d}`, tenant)
	}
}

// tenantClients makes one Client for each tenant from first to first+n-1,
// each with its first key from the API (valid for an hour, so that the Cache
// has an expiry to watch) and a refresh hook that mints the next one,
// counting calls.
func tenantClients(t testing.TB, a *tenantAPI, first, n int) ([]*rekey.Client, []atomic.Int64) {
	t.Helper()
	clients := make([]*rekey.Client, n)
	refreshes := make([]atomic.Int64, n)
	for i := range clients {
		tenant := first + i
		var key credentials.Credential
		if a.first != nil {
			key = a.first[tenant]
		} else {
			key = a.mint(tenant)
		}
		key.Expiry = time.Now().Add(time.Hour)
		provider := credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) { return key, nil })
		refresh := func(context.Context, credentials.Credential) (credentials.Credential, error) {
			refreshes[i].Add(1)
			return a.mint(tenant), nil
		}
		c, err := rekey.NewClient(fmt.Sprintf("%s/t/%d", a.URL, tenant), rekey.WithCredentials(provider), rekey.WithRefresh(refresh))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	t.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
	})
	return clients, refreshes
}

// tenantGet sends GET echo with c, tagged with seq, and checks that the
// answer is the tenant's.
func tenantGet(c *rekey.Client, tenant int, seq string) error {
	req, err := c.NewRequest(context.Background(), http.MethodGet, "echo", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Seq", seq)
	var v struct{ Tenant int }
	if _, err := c.Do(req, &v); err != nil {
		return err
	}
	if v.Tenant != tenant {
		return fmt.Errorf("tenant %d got tenant %d's answer", tenant, v.Tenant)
	}
	return nil
}

// sendAll sends one request from each client (of tenants first, first+1,
// ...), from workers goroutines.
func sendAll(t testing.TB, clients []*rekey.Client, first, workers int, tag string) {
	t.Helper()
	next := atomic.Int64{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(clients); i = int(next.Add(1) - 1) {
				if err := tenantGet(clients[i], first+i, fmt.Sprintf("%s-%d", tag, first+i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	testwait.Group(t, &wg, time.Minute, "the tenants' requests")
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
