package vault_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/vault"
	"github.com/rekeyhq/rekey/rekeytest"
)

// exampleTB lets an example run the tests' loopback Vault, which needs only
// Helper, Cleanup and Fatal.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (e *exampleTB) Helper()                           {}
func (e *exampleTB) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleTB) Fatal(args ...any)                 { log.Fatal(args...) }
func (e *exampleTB) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }
func (e *exampleTB) Errorf(format string, args ...any) { log.Printf(format, args...) }
func (e *exampleTB) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// After a rejection, Refresh reads the latest version again: a new version
// gives the new key; an unchanged one says at once that nothing is newer.
// (The official client here talks to a loopback fake of Vault's KV v2 API.)
func ExampleProvider_Refresh() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeVault(tb)
	kv.put("secret/myapp/billing", map[string]any{"api_key": "sk_live_0000000000000001"})

	p, err := vault.New(kv.client(tb), "secret", "myapp/billing", "api_key")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	cred, _ := p.Retrieve(ctx)
	fmt.Println("first use:", cred)

	kv.put("secret/myapp/billing", map[string]any{"api_key": "sk_live_0000000000000002"}) // vault kv put
	cred, _ = p.Refresh(ctx, cred)                                                        // the API rejected the old key
	fmt.Println("new version:", cred)

	_, err = p.Refresh(ctx, cred)
	fmt.Println("nothing new:", errors.Is(err, credentials.ErrSameKey))
	// Output:
	// first use: Credential{Key: sk_live_…0001}
	// new version: Credential{Key: sk_live_…0002}
	// nothing new: true
}

// A planned rotation costs no rejected request: the rotation writes the new
// key to Vault, every process in use picks it up within the poll interval,
// and only then is the old key revoked at the API.
func ExampleWithPollInterval() {
	tb := &exampleTB{}
	defer tb.close()
	api := rekeytest.NewServer()
	defer api.Close()
	kv := newFakeVault(tb)
	old := api.IssueKey()
	kv.put("secret/myapp/billing", map[string]any{"api_key": old.Key})

	p, err := vault.New(kv.client(tb), "secret", "myapp/billing", "api_key",
		vault.WithPollInterval(10*time.Millisecond)) // a minute by default
	if err != nil {
		fmt.Println(err)
		return
	}
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
	get := func() {
		req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
		if _, err := client.Do(req, nil); err != nil {
			fmt.Println(err)
		}
	}
	get()

	kv.put("secret/myapp/billing", map[string]any{"api_key": api.IssueKey().Key}) // step 1: the new key in Vault
	deadline := time.After(10 * time.Second)
	for waiting := true; waiting; { // requests keep coming
		get()
		select {
		case <-pickedUp:
			waiting = false
		case <-deadline:
			fmt.Println("not picked up")
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	api.Revoke(old.Key) // step 2: the old key revoked
	get()
	fmt.Println("rejections:", api.Stats().Rejections)
	// Output:
	// rejections: 0
}

// The key's expiry written beside it, in the same version: the Cache
// refreshes the key ahead of it.
func ExampleWithExpiryField() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeVault(tb)
	kv.put("secret/myapp/billing", map[string]any{
		"api_key":    "sk_live_0000000000000001",
		"expires_at": "2030-01-02T15:04:05Z",
	})
	p, err := vault.New(kv.client(tb), "secret", "myapp/billing", "api_key", vault.WithExpiryField("expires_at"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001, Expiry: 2030-01-02T15:04:05Z} <nil>
}

// The key's expiry in the secret's custom metadata (vault kv metadata put
// -custom-metadata expires_at=...), for secrets written by a tool that
// cannot add a field.
func ExampleWithExpiryMetadata() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeVault(tb)
	kv.put("secret/myapp/billing", map[string]any{"api_key": "sk_live_0000000000000001"})
	kv.setCustomMetadata("secret/myapp/billing", map[string]string{"expires_at": "2030-01-02T15:04:05Z"})
	p, err := vault.New(kv.client(tb), "secret", "myapp/billing", "api_key", vault.WithExpiryMetadata("expires_at"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001, Expiry: 2030-01-02T15:04:05Z} <nil>
}

// Each failure says what to fix and matches one sentinel error.
func ExampleError() {
	tb := &exampleTB{}
	defer tb.close()
	kv := newFakeVault(tb)
	kv.put("secret/myapp/billing", map[string]any{"token": "sk_live_0000000000000001"})
	p, err := vault.New(kv.client(tb), "secret", "myapp/billing", "api_key")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = p.Retrieve(context.Background())
	switch {
	case errors.Is(err, vault.ErrFieldNotFound):
		fmt.Println("fix the field name:", err)
	case errors.Is(err, vault.ErrPermissionDenied):
		fmt.Println("fix the policy:", err)
	}
	var vaultErr *vault.Error
	if errors.As(err, &vaultErr) {
		fmt.Println("op:", vaultErr.Op, "path:", vaultErr.Path)
	}
	// Output:
	// fix the field name: vault: read secret/data/myapp/billing: version 1 has no field "api_key" (its fields: "token"): write the key under that name (vault kv patch -mount=secret myapp/billing api_key=<key>) or give vault.New the right field name
	// op: read path: secret/data/myapp/billing
}
