package rekey_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// An API that takes the key in HTTP Basic auth, as the password of a fixed
// user name (Mailgun: "api", Twilio: the account SID). rekeytest's server
// accepts a key there too.
func ExampleWithBasicAuth() {
	api := rekeytest.NewServer()
	defer api.Close()
	key := api.IssueKey()
	api.Revoke(key.Key) // the key in use was revoked

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static(key.Key)),
		rekey.WithRefresh(api.Refresh), // mints a new key
		rekey.WithBasicAuth(transport.BasicKeyAsPassword("api")),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	req, err := client.NewRequest(context.Background(), http.MethodGet, "/v1/key", nil)
	if err != nil {
		log.Fatal(err)
	}
	var status struct {
		Valid bool `json:"valid"`
	}
	if _, err := client.Do(req, &status); err != nil {
		log.Fatal(err)
	}
	fmt.Println("valid:", status.Valid, "rejections:", api.Stats().Rejections)
	// Output:
	// valid: true rejections: 1
}
