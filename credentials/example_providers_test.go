package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// A key from the configuration, checked locally before the first request:
// a pasted "Bearer " prefix fails at once, with an error that does not
// show the key.
func ExampleStatic() {
	api := rekeytest.NewServer()
	defer api.Close()
	key := api.IssueKey().Key

	for _, configured := range []string{key, "Bearer " + key} {
		hc := &http.Client{Transport: &transport.Transport{Credentials: credentials.Static(configured)}}
		resp, err := hc.Get(api.URL + "/v1/echo")
		var noKey *transport.CredentialError
		if errors.As(err, &noKey) {
			fmt.Println("nothing sent:", noKey.Err)
			continue
		} else if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// 200 OK
	// nothing sent: credentials: malformed API key from credentials.Static: the key starts with the "Bearer" scheme: store only the key; the transport adds the scheme
}

// The key in an environment variable, read again on every Retrieve (a
// Cache in front calls it once, and again after a rejection).
func ExampleEnv() {
	p := credentials.Env("EXAMPLE_BILLING_API_KEY")
	ctx := context.Background()

	_, err := p.Retrieve(ctx)
	fmt.Println(errors.Is(err, credentials.ErrNoCredentials), err)

	os.Setenv("EXAMPLE_BILLING_API_KEY", "sk_live_4eC39HqLyjWDarjtT1zdp7dc\n")
	defer os.Unsetenv("EXAMPLE_BILLING_API_KEY")
	cred, err := p.Retrieve(ctx)
	fmt.Println(cred, err)
	// Output:
	// true credentials: environment variable EXAMPLE_BILLING_API_KEY is not set: export it with your API key
	// Credential{Key: sk_live_…p7dc} <nil>
}

// The key in a file (a mounted Kubernetes secret, a file written by a
// vault agent): re-read when it changes. Errors name the path and the
// problem, never the content.
func ExampleFile() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "api-key")
	p := credentials.File(path)
	ctx := context.Background()

	_, err = p.Retrieve(ctx)
	fmt.Println("no file yet:", errors.Is(err, credentials.ErrNoCredentials))

	os.WriteFile(path, []byte("sk_live_4eC39HqLyjWDarjtT1zdp7dc\n"), 0o600)
	cred, err := p.Retrieve(ctx)
	fmt.Println(cred, err)
	// Output:
	// no file yet: true
	// Credential{Key: sk_live_…p7dc} <nil>
}

// The first source that has a key wins: the environment in development,
// a file in production, a helper command as a last resort. When none has
// one, the error lists why each failed.
func ExampleChain() {
	p := credentials.Chain(
		credentials.Env("EXAMPLE_UNSET_API_KEY"),
		credentials.File("/run/secrets/rekey-example/api-key"),
		credentials.Exec("rekey-example-helper-not-installed"),
	)
	_, err := p.Retrieve(context.Background())
	fmt.Println("no key:", errors.Is(err, credentials.ErrNoCredentials))
	var chainErr *credentials.ChainError
	if errors.As(err, &chainErr) {
		for _, e := range chainErr.Errs {
			fmt.Println(e)
		}
	}
	// Output:
	// no key: true
	// credentials: environment variable EXAMPLE_UNSET_API_KEY is not set: export it with your API key
	// credentials: key file /run/secrets/rekey-example/api-key does not exist: create it or fix the path
	// credentials: command "rekey-example-helper-not-installed" not found in PATH: install it or give its full path
}

// Any function can be a Provider; its key is checked like the built-in
// providers' keys.
func ExampleProviderFunc() {
	api := rekeytest.NewServer()
	defer api.Close()
	fromConfigService := credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
		return api.IssueKey(), nil // e.g. a call to your configuration service
	})

	hc := &http.Client{Transport: &transport.Transport{Credentials: fromConfigService}}
	resp, err := hc.Get(api.URL + "/v1/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	_, err = credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
		return credentials.Credential{Key: `"sk_live_4eC39HqLyjWDarjtT1zdp7dc"`}, nil
	}).Retrieve(context.Background())
	fmt.Println(err)
	// Output:
	// 200 OK
	// credentials: malformed API key from ProviderFunc: the key is wrapped in quotes: remove them; they are not part of the key
}
