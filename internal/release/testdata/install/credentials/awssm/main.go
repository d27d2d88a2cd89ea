// awssm's README wiring, built against the published modules.
package main

import (
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials/awssm"
)

func main() {
	sm := secretsmanager.New(secretsmanager.Options{Region: "us-east-1"})
	p, err := awssm.New(sm, "prod/billing-api", awssm.WithField("api_key"))
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	log.Print("awssm: client ready")
}
