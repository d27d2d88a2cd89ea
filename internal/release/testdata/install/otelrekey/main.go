// otelrekey's README wiring, built against the published modules.
package main

import (
	"log"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
)

func main() {
	tel, err := otelrekey.New() // the global meter and tracer providers
	if err != nil {
		log.Fatal(err)
	}
	defer tel.Close()
	client, err := rekey.NewClient("https://api.example.com",
		rekey.WithCredentials(credentials.Static("rk_live_installTest0000000001")),
		rekey.WithHooks(tel.Hooks()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	log.Print("otelrekey: client ready")
}
