// azkv's README wiring, built against the published modules. An
// application passes azidentity.NewDefaultAzureCredential(nil); any
// azcore.TokenCredential fits, such as this one.
package main

import (
	"context"
	"errors"
	"log"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials/azkv"
)

type noCredential struct{}

func (noCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("no credential in this build test")
}

func main() {
	p, err := azkv.NewFromURL("https://prod-kv.vault.azure.net/", noCredential{}, "billing-api", azkv.WithField("api_key"))
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	log.Print("azkv: client ready")
}
