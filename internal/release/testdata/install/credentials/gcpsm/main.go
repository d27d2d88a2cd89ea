// gcpsm's README wiring, built against the published modules. An
// application calls secretmanager.NewClient(ctx) with Application Default
// Credentials; this build test makes no call, so it needs none.
package main

import (
	"context"
	"log"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"google.golang.org/api/option"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials/gcpsm"
)

func main() {
	ctx := context.Background()
	sm, err := secretmanager.NewClient(ctx, option.WithoutAuthentication())
	if err != nil {
		log.Fatal(err)
	}
	defer sm.Close()
	p, err := gcpsm.New(sm, "projects/my-project/secrets/billing-api-key",
		gcpsm.WithField("api_key"),
		gcpsm.WithExpiryField("expires_at"),
	)
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	log.Print("gcpsm: client ready")
}
