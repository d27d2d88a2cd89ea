package azkv_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
	"github.com/rekeyhq/rekey/rekeytest"
)

// These examples run the official azsecrets client against a loopback
// Key Vault over TLS (fakekv_test.go); newProvider passes it the options
// that ExampleWithClientOptions shows.

// The options of the client that NewFromURL builds: here those a vault
// reached under a test server's name needs (its certificate trusted
// through the transport, the challenge's resource not checked), and
// shorter retry delays.
func ExampleWithClientOptions() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeKV(tb)
	kv.Set("billing-api", "sk_live_0000000000000001")

	p, err := azkv.NewFromURL(kv.srv.URL, newCredential(), "billing-api",
		azkv.WithClientOptions(&azsecrets.ClientOptions{
			ClientOptions: azcore.ClientOptions{
				Transport: kv.srv.Client(),
				Retry:     policy.RetryOptions{MaxRetries: 5, RetryDelay: 10 * time.Millisecond},
			},
			DisableChallengeResourceVerification: true,
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001} <nil>
}

// A secret whose value is a JSON object: the key is one of its fields.
func ExampleWithField() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeKV(tb)
	kv.Set("billing-api", `{"api_key": "sk_live_0000000000000001", "account": "billing"}`,
		func(v *kvVersion) { v.contentType = "application/json" })

	p := newProvider(tb, kv, "billing-api", azkv.WithField("api_key"))
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001} <nil>
}

// Each version names the field that holds its key in a tag (az keyvault
// secret set --tags rekey-field=...), so a rotation can change the shape.
func ExampleWithFieldTag() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeKV(tb)
	kv.Set("billing-api", `{"secret_key": "sk_live_0000000000000001"}`, func(v *kvVersion) {
		v.contentType = "application/json"
		v.tags = map[string]string{"rekey-field": "secret_key"}
	})

	p := newProvider(tb, kv, "billing-api", azkv.WithFieldTag("rekey-field"), azkv.WithField("api_key"))
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001} <nil>
}

// A planned rotation costs no rejected request: the Cache checks for a new
// version at the poll interval while the key is in use, so every process
// has the new key before the old one is revoked.
func ExampleWithPollInterval() {
	tb := &exampleTB{}
	defer tb.close()
	api := rekeytest.NewServer()
	defer api.Close()
	kv := newFakeKV(tb)
	old := api.IssueKey()
	kv.Set("billing-api", old.Key)

	p := newProvider(tb, kv, "billing-api", azkv.WithPollInterval(10*time.Millisecond)) // 5 minutes by default
	pickedUp := make(chan struct{}, 1)
	client, err := rekey.NewClient(api.URL, rekey.WithCredentials(p),
		rekey.WithHooks(rekey.Hooks{RefreshSucceeded: func(ev credentials.RefreshEvent) {
			if ev.Reason == credentials.ReasonChanged {
				select {
				case pickedUp <- struct{}{}:
				default:
				}
			}
		}}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fetch := func() {
		req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
		if _, err := client.Do(req, nil); err != nil {
			fmt.Println(err)
		}
	}
	fetch()

	kv.Set("billing-api", api.IssueKey().Key) // the rotation stores the new key
	deadline := time.After(10 * time.Second)
	for waiting := true; waiting; { // requests keep coming
		fetch()
		select {
		case <-pickedUp:
			waiting = false
		case <-deadline:
			fmt.Println("not picked up")
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	api.Revoke(old.Key) // and revokes the old one after its grace period
	fetch()
	fmt.Println("rejections:", api.Stats().Rejections)
	// Output:
	// rejections: 0
}

// A Provider pinned to one version, which never changes: polling is off,
// and after a rejection Refresh fails at once with an error matching
// credentials.ErrSameKey that says to pin the new version.
func ExampleWithVersion() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeKV(tb)
	pinned := kv.Set("billing-api", "sk_live_0000000000000001")
	kv.Set("billing-api", "sk_live_0000000000000002")

	p := newProvider(tb, kv, "billing-api", azkv.WithVersion(pinned))
	ctx := context.Background()
	cred, err := p.Retrieve(ctx)
	fmt.Println(cred, err)
	_, err = p.Refresh(ctx, cred) // the API rejected it
	fmt.Println(errors.Is(err, credentials.ErrSameKey))
	// Output:
	// Credential{Key: sk_live_…0001} <nil>
	// true
}

// By default a version past its expiration date (exp) is not used, though
// Key Vault still returns it. WithoutExpiry ignores exp, for vaults where a
// policy puts a date on every secret that says nothing of the API key.
func ExampleWithoutExpiry() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeKV(tb)
	kv.Set("billing-api", "sk_live_0000000000000001", func(v *kvVersion) { v.exp = time.Now().Add(-time.Hour) })
	ctx := context.Background()

	_, err := newProvider(tb, kv, "billing-api").Retrieve(ctx)
	fmt.Println("expired:", errors.Is(err, azkv.ErrExpired))

	cred, err := newProvider(tb, kv, "billing-api", azkv.WithoutExpiry()).Retrieve(ctx)
	fmt.Println(cred, err)
	// Output:
	// expired: true
	// Credential{Key: sk_live_…0001} <nil>
}
