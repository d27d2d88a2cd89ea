package awssm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
)

// New only configures the Provider: it makes no call until a key is
// needed. A Provider never prints a key.
func ExampleNew() {
	// In an application: cfg, err := config.LoadDefaultConfig(ctx)
	cfg := aws.Config{Region: "eu-west-1"}
	p, err := awssm.New(secretsmanager.NewFromConfig(cfg), "prod/billing-api",
		awssm.WithField("api_key"),
		awssm.WithExpiryField("expires_at"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
	fmt.Println(p.PollInterval())
	// Output:
	// awssm.Provider{SecretID: "prod/billing-api", Field: "api_key"}
	// 5m0s
}

// The Provider is the Client's source of keys. The Client's Cache reads the
// secret on first use, after a rejection, ahead of a known expiry and every
// poll interval; never per request.
func Example() {
	cfg := aws.Config{Region: "eu-west-1"} // config.LoadDefaultConfig(ctx) in an application
	p, err := awssm.New(secretsmanager.NewFromConfig(cfg), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/billing-api-AbCdEf",
		awssm.WithPollInterval(2*time.Minute), // pick up a rotation within 2 minutes
		awssm.WithRotation(20*time.Second),    // on a rejection with nothing newer in the store, rotate it
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

// Each failure matches one sentinel error, so an application can tell an
// operator precisely what to fix.
func ExampleError() {
	var err error = &awssm.Error{SecretID: "prod/billing-api", Op: "GetSecretValue", Kind: awssm.ErrAccessDenied}
	switch {
	case errors.Is(err, awssm.ErrAccessDenied):
		fmt.Println("fix the IAM policy:", err)
	case errors.Is(err, credentials.ErrNoCredentials):
		fmt.Println("no key in the store:", err)
	}
	// Output: fix the IAM policy: awssm: secret "prod/billing-api": GetSecretValue: access denied
}

// exampleTB lets an example run the fake Secrets Manager of the tests,
// which needs only Errorf, Fatalf, Helper and Cleanup.
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

// After a rejection, Refresh reads AWSCURRENT again; if a rotation is only
// half done, it finds the AWSPENDING version; if nothing is new, it says
// so at once. (The client here talks to a loopback fake of Secrets Manager.)
func ExampleProvider_Refresh() {
	tb := &exampleTB{}
	defer tb.close()
	sm := newFakeSM(tb)
	sm.Create("prod/billing-api", "sk_live_0000000000000001")

	p, err := awssm.New(sm.client(), "prod/billing-api", awssm.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	cred, _ := p.Retrieve(ctx)
	fmt.Println("first use:", cred)

	sm.Put("prod/billing-api", "sk_live_0000000000000002") // an operator updates the secret
	cred, _ = p.Refresh(ctx, cred)                         // the API rejected the old key
	fmt.Println("AWSCURRENT moved on:", cred)

	pending := "sk_live_0000000000000003"
	sm.BeginRotation("prod/billing-api", &pending) // a rotation, not finished yet
	cred, _ = p.Refresh(ctx, cred)
	fmt.Println("rotation under way:", cred)

	_, err = p.Refresh(ctx, cred)
	fmt.Println("nothing new:", errors.Is(err, credentials.ErrSameKey))
	// Output:
	// first use: Credential{Key: sk_live_…0001}
	// AWSCURRENT moved on: Credential{Key: sk_live_…0002}
	// rotation under way: Credential{Key: sk_live_…0003}
	// nothing new: true
}
