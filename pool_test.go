package rekey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// A request through the shared pool leaves a keep-alive connection, with
// its goroutines, for the next request; rekey.CloseIdleConnections closes it
// and nothing of it is left running.
func TestCloseIdleConnectionsLeavesNoGoroutine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	before := goleak.IgnoreCurrent() // the server's own goroutines included
	client, err := rekey.NewClient(srv.URL, rekey.WithCredentials(credentials.Static("rk_test_pool_key_0123456789")))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	req, err := client.NewRequest(context.Background(), http.MethodGet, "ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Do(req, nil); err != nil {
		t.Fatal(err)
	}
	if goleak.Find(before) == nil {
		t.Fatal("no goroutine for the kept-alive connection: the check below could not fail")
	}
	rekey.CloseIdleConnections()
	if err := goleak.Find(before); err != nil {
		t.Errorf("after CloseIdleConnections: %v", err)
	}
}
