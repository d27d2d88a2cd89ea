// The README's quick start, pointed at rekey's fake API (rekeytest) so that
// it runs anywhere: the key is rotated away before the first request, and
// the Client recovers on its own.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
)

func main() {
	api := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	defer api.Close()

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static(api.IssueKey().Key)),
		rekey.WithRefresh(api.Refresh), // mints a key over HTTP
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	api.RotateAll() // the key the client holds is revoked

	req, err := client.NewRequest(context.Background(), http.MethodGet, "/v1/echo", nil)
	if err != nil {
		log.Fatal(err)
	}
	var echo struct {
		Path string `json:"path"`
	}
	if _, err := client.Do(req, &echo); err != nil {
		log.Fatal(err)
	}
	st := api.Stats()
	fmt.Printf("%s answered after %d rejection, %d keys issued\n", echo.Path, st.Rejections, st.KeysIssued)
}
