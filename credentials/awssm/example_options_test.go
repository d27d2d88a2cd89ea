package awssm_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
	"github.com/rekeyhq/rekey/rekeytest"
)

// These examples run the official Secrets Manager client against a
// loopback fake of the service (fakesm_test.go); in an application,
// secretsmanager.NewFromConfig(cfg) with cfg from config.LoadDefaultConfig.

// A secret that holds a JSON object: the key is one of its fields, beside
// values that rekey never reads out.
func ExampleWithField() {
	tb := &exampleTB{}
	defer tb.close()
	sm := newFakeSM(tb)
	sm.Create("prod/billing-api", `{"api_key": "sk_live_0000000000000001", "db_password": "hunter2-hunter2"}`)

	p, err := awssm.New(sm.client(), "prod/billing-api", awssm.WithField("api_key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001} <nil>
}

// The key's expiry stored beside it: the Cache reads the secret again
// shortly before.
func ExampleWithExpiryField() {
	tb := &exampleTB{}
	defer tb.close()
	sm := newFakeSM(tb)
	sm.Create("prod/billing-api", `{"api_key": "sk_live_0000000000000001", "expires_at": "2030-01-02T15:04:05Z"}`)

	p, err := awssm.New(sm.client(), "prod/billing-api", awssm.WithField("api_key"), awssm.WithExpiryField("expires_at"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err)
	// Output:
	// Credential{Key: sk_live_…0001, Expiry: 2030-01-02T15:04:05Z} <nil>
}

// Keys that the API accepts for 90 days after they were issued, stored by
// a scheduled rotation: each key expires 90 days after its version was
// created.
func ExampleWithKeyLifetime() {
	tb := &exampleTB{}
	defer tb.close()
	sm := newFakeSM(tb)
	sm.Create("prod/billing-api", "sk_live_0000000000000001")

	const lifetime = 90 * 24 * time.Hour
	p, err := awssm.New(sm.client(), "prod/billing-api", awssm.WithKeyLifetime(lifetime))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := p.Retrieve(context.Background())
	left := time.Until(cred.Expiry)
	fmt.Println("expires in about 90 days:", left > lifetime-time.Hour && left <= lifetime, err)
	// Output:
	// expires in about 90 days: true <nil>
}

// A planned rotation costs no rejected request: the Cache checks the
// secret's AWSCURRENT version at the poll interval while the key is in
// use, so every process has the new key before the old one is revoked.
func ExampleWithPollInterval() {
	tb := &exampleTB{}
	defer tb.close()
	api := rekeytest.NewServer()
	defer api.Close()
	sm := newFakeSM(tb)
	old := api.IssueKey()
	sm.Create("prod/billing-api", old.Key)

	p, err := awssm.New(sm.client(), "prod/billing-api",
		awssm.WithPollInterval(10*time.Millisecond)) // 5 minutes by default
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

	sm.Put("prod/billing-api", api.IssueKey().Key) // the rotation stores the new key
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
	api.Revoke(old.Key) // and revokes the old one after its grace period
	get()
	fmt.Println("rejections:", api.Stats().Rejections)
	// Output:
	// rejections: 0
}

// When the API rejects the key and the secret still holds it, WithRotation
// starts the secret's own rotation (its rotation function mints and stores
// a new key) and waits for AWSCURRENT to move.
func ExampleWithRotation() {
	tb := &exampleTB{}
	defer tb.close()
	sm := newFakeSM(tb)
	sm.Create("prod/billing-api", "sk_live_0000000000000001")
	sm.EnableRotation("prod/billing-api", func() string { return "sk_live_0000000000000002" }) // the rotation Lambda

	p, err := awssm.New(sm.client(), "prod/billing-api",
		awssm.WithRotation(20*time.Second),
		awssm.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	rejected, _ := p.Retrieve(ctx)
	cred, err := p.Refresh(ctx, rejected) // the API rejected it
	fmt.Println(cred, err, "rotations started:", sm.Calls("RotateSecret"))
	// Output:
	// Credential{Key: sk_live_…0002} <nil> rotations started: 1
}

// Each Secrets Manager call is retried by the SDK's retryer (throttling,
// 5xx, connection errors); WithRetryMaxAttempts sets its attempts for the
// Provider's calls only.
func ExampleWithRetryMaxAttempts() {
	tb := &exampleTB{}
	defer tb.close()
	sm := newFakeSM(tb)
	sm.Create("prod/billing-api", "sk_live_0000000000000001")
	sm.Throttle(3) // the next 3 requests get ThrottlingException

	p, err := awssm.New(sm.client(fastRetries), "prod/billing-api", awssm.WithRetryMaxAttempts(5))
	if err != nil {
		fmt.Println(err)
		return
	}
	cred, err := p.Retrieve(context.Background())
	fmt.Println(cred, err, "requests:", sm.Calls("GetSecretValue"))
	// Output:
	// Credential{Key: sk_live_…0001} <nil> requests: 4
}

// The Provider logs what an operator wants to know: a rotation it found
// under way, or started. (The time is left out here so that the output is
// the same every run.)
func ExampleWithLogger() {
	tb := &exampleTB{}
	defer tb.close()
	sm := newFakeSM(tb)
	sm.Create("prod/billing-api", "sk_live_0000000000000001")
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	p, err := awssm.New(sm.client(), "prod/billing-api",
		awssm.WithLogger(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}))))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	rejected, _ := p.Retrieve(ctx)
	pending := "sk_live_0000000000000002"
	sm.BeginRotation("prod/billing-api", &pending) // a rotation, not finished yet
	cred, err := p.Refresh(ctx, rejected)
	fmt.Println(cred, err)
	// Output:
	// level=INFO msg="awssm: AWSCURRENT still holds the rejected key; using the AWSPENDING version of a rotation under way" secret_id=prod/billing-api current_version=00000001-0000-4000-8000-000000000001 pending_version=00000003-0000-4000-8000-000000000003
	// Credential{Key: sk_live_…0002} <nil>
}
