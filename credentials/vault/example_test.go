package vault_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials/vault"
	"github.com/rekeyhq/rekey/transport"
)

// New only configures the Provider: Vault is read when a key is first
// needed. Printing the Provider shows where the key comes from, never the
// key or the token.
func ExampleNew() {
	conf := api.DefaultConfig()
	conf.Address = "https://vault.example.com:8200"
	client, err := api.NewClient(conf) // the token from VAULT_TOKEN, or client.SetToken
	if err != nil {
		log.Fatal(err)
	}
	p, err := vault.New(client, "secret", "myapp/billing-api", "api_key",
		vault.WithPollInterval(30*time.Second),
		vault.WithExpiryField("expires_at"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
	// Output: vault.Provider{Addr: "https://vault.example.com:8200", Mount: "secret", Path: "myapp/billing-api", Field: "api_key"}
}

// The Provider is the client's credentials: the Client's Cache reads Vault
// on first use, after a rejection and when polling finds a new version.
// A nil *api.Client is configured from VAULT_ADDR, VAULT_TOKEN and the other
// variables the vault CLI reads.
func Example() {
	p, err := vault.New(nil, "secret", "myapp/billing-api", "api_key")
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Or, for another SDK's http.Client:
	hc := &http.Client{Transport: &transport.Transport{Credentials: p}}
	_ = hc
}
