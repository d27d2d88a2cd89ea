package redisstore

import (
	"context"
	"net/http"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/rekeytest"
)

// Wired through rekey.WithCredentials, the Store is both where the first
// key comes from and how a rejected one is replaced: two clients standing
// for two processes recover from a rotation with one mint.
func TestClientWiring(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	srv := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	t.Cleanup(srv.Close)

	var clients []*rekey.Client
	for range 2 {
		c, err := rekey.NewClient(srv.URL, rekey.WithCredentials(newStore(t, prefix, srv.Refresh)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}
	echo := func(round string) {
		t.Helper()
		for i, c := range clients {
			req, err := c.NewRequest(context.Background(), http.MethodGet, "/v1/echo", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Do(req, nil); err != nil {
				t.Fatalf("%s: client %d: %v", round, i, err)
			}
		}
	}
	echo("first key")
	srv.RotateAll()
	echo("after the rotation")
	if st := srv.Stats(); st.KeysIssued != 2 || st.Rejections != 2 {
		t.Fatalf("%d keys minted and %d rejections, want 2 and 2 (one each)", st.KeysIssued, st.Rejections)
	}
}
