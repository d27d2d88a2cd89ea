// vault's README wiring, built against the published modules.
package main

import (
	"log"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials/vault"
)

func main() {
	vc, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	p, err := vault.New(vc, "secret", "myapp/billing-api", "api_key", vault.WithPollInterval(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	log.Print("vault: client ready")
}
