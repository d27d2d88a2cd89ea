package azkv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
)

// NewFromURL only configures the Provider: it makes no call until a key is
// needed. A Provider never prints a key.
func ExampleNewFromURL() {
	// In an application: cred, err := azidentity.NewDefaultAzureCredential(nil)
	var cred azcore.TokenCredential = newCredential()
	p, err := azkv.NewFromURL("https://prod-kv.vault.azure.net/", cred, "billing-api",
		azkv.WithField("api_key"), // the value is {"api_key": "..."}; omit for a plain value
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
	fmt.Println(p.PollInterval())
	// Output:
	// azkv.Provider{Vault: "prod-kv.vault.azure.net", Name: "billing-api", Field: "api_key"}
	// 5m0s
}

// With a client you built (its retry policy, transport and telemetry are
// yours), the Provider is the Client's source of keys. The Client's Cache
// reads the secret on first use, after a rejection, ahead of its exp and
// every poll interval; never per request.
func ExampleNew() {
	var cred azcore.TokenCredential = newCredential() // azidentity.NewDefaultAzureCredential(nil)
	kv, err := azsecrets.NewClient("https://prod-kv.vault.azure.net/", cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	p, err := azkv.New(kv, "billing-api",
		azkv.WithPollInterval(2*time.Minute), // pick up a new version within 2 minutes
	)
	if err != nil {
		log.Fatal(err)
	}
	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
}

// A poll lists the secret's versions (properties only) and reads a value
// only when the newest version changed. For a secret with hundreds of
// versions, one GET per poll costs fewer requests than the pages of a
// listing; it also needs no List permission.
func ExampleWithPollByGet() {
	var cred azcore.TokenCredential = newCredential() // azidentity.NewDefaultAzureCredential(nil)
	p, err := azkv.NewFromURL("https://prod-kv.vault.azure.net/", cred, "billing-api",
		azkv.WithPollByGet(), // a secret rotated daily: 365 versions a year, 15 pages per listing
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
	// Output: azkv.Provider{Vault: "prod-kv.vault.azure.net", Name: "billing-api", PollByGet: true}
}

// Each failure matches one sentinel error, so an application can tell an
// operator precisely what to fix.
func ExampleError() {
	var err error = &azkv.Error{Op: "Retrieve", Name: "billing-api", Vault: "prod-kv.vault.azure.net",
		StatusCode: 403, Code: "Forbidden", InnerCode: "ForbiddenByRbac", Kind: azkv.ErrForbidden}
	switch {
	case errors.Is(err, azkv.ErrForbidden):
		fmt.Println("grant the role:", err)
	case errors.Is(err, credentials.ErrNoCredentials):
		fmt.Println("no key in the vault:", err)
	}
	// Output: grant the role: azkv: Retrieve secret "billing-api" in prod-kv.vault.azure.net: access forbidden (403 Forbidden/ForbiddenByRbac)
}

// exampleTB lets an example run the tests' loopback Key Vault, which needs
// only Errorf, Cleanup and Fatalf.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (e *exampleTB) Errorf(format string, args ...any) { log.Printf(format, args...) }
func (e *exampleTB) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }
func (e *exampleTB) Helper()                           {}
func (e *exampleTB) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleTB) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// After a rejection, Refresh reads the current version again: a new
// version gives the new key; an unchanged one says at once that nothing is
// new. (The client here talks to a loopback Key Vault over TLS.)
func ExampleProvider_Refresh() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeKV(tb)
	kv.Set("billing-api", "sk_live_0000000000000001")
	p := newProvider(tb, kv, "billing-api")

	ctx := context.Background()
	cred, _ := p.Retrieve(ctx)
	fmt.Println("first use:", cred)

	kv.Set("billing-api", "sk_live_0000000000000002") // az keyvault secret set
	cred, _ = p.Refresh(ctx, cred)                    // the API rejected the old key
	fmt.Println("new version:", cred)

	_, err := p.Refresh(ctx, cred)
	fmt.Println("nothing new:", errors.Is(err, credentials.ErrSameKey))
	// Output:
	// first use: Credential{Key: sk_live_…0001}
	// new version: Credential{Key: sk_live_…0002}
	// nothing new: true
}
