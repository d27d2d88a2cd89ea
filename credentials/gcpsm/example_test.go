package gcpsm_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"google.golang.org/api/option"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials/gcpsm"
	"github.com/rekeyhq/rekey/transport"
)

// New only checks the secret's name and the options: Secret Manager is read
// when a key is first needed. Printing the Provider shows where the key
// comes from, never the key.
func ExampleNew() {
	ctx := context.Background()
	// In production: secretmanager.NewClient(ctx), with Application Default
	// Credentials. This example makes no call, so it needs none.
	sm, err := secretmanager.NewClient(ctx, option.WithoutAuthentication())
	if err != nil {
		log.Fatal(err)
	}
	defer sm.Close()

	p, err := gcpsm.New(sm, "projects/my-project/secrets/billing-api-key",
		gcpsm.WithField("api_key"),          // the payload is {"api_key": "...", "expires_at": "..."}
		gcpsm.WithExpiryField("expires_at"), // optional: RFC 3339 or Unix seconds
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
	// Output: gcpsm.Provider{Secret: "projects/my-project/secrets/billing-api-key", Version: "latest", Field: "api_key"}
}

// The Provider is the client's credentials: the Client's Cache reads Secret
// Manager on first use, after a rejection and when polling finds a new
// version.
func Example() {
	ctx := context.Background()
	sm, err := secretmanager.NewClient(ctx) // Application Default Credentials
	if err != nil {
		log.Fatal(err)
	}
	defer sm.Close()

	p, err := gcpsm.New(sm, "projects/my-project/secrets/billing-api-key",
		gcpsm.WithPollInterval(time.Minute), // default 5 minutes; 0 turns polling off
	)
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

// A regional secret is read through the regional endpoint; an alias follows
// the version an operator points it at.
func ExampleWithVersion() {
	ctx := context.Background()
	sm, err := secretmanager.NewClient(ctx, option.WithEndpoint("secretmanager.europe-west1.rep.googleapis.com:443"))
	if err != nil {
		log.Fatal(err)
	}
	defer sm.Close()
	p, err := gcpsm.New(sm, "projects/my-project/locations/europe-west1/secrets/billing-api-key",
		gcpsm.WithVersion("prod"), // gcloud secrets update billing-api-key --location=europe-west1 --update-version-aliases=prod=7
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = p
}
