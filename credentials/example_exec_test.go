package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// A credential helper is any program that prints the key, bare or as
// {"key": "...", "expires_at": "..."}. Here the 1Password CLI reads it; the
// program is not installed where this example runs, so Retrieve reports
// that, in an error that matches ErrNoCredentials (a Chain moves on to its
// next provider).
func ExampleExec() {
	p := credentials.Exec("rekey-example-op", "read", "op://prod/api/key")
	p.Timeout = 10 * time.Second // the default is 30s
	fmt.Println(p)

	_, err := p.Retrieve(context.Background())
	fmt.Println(err)
	fmt.Println(errors.Is(err, credentials.ErrNoCredentials))
	// Output:
	// credentials.Exec("rekey-example-op", "read", "op://prod/api/key")
	// credentials: command "rekey-example-op" not found in PATH: install it or give its full path
	// true
}

// A helper command reads why it runs from its environment. This one cannot
// rotate keys, so after a rejection it says which key was refused, by its
// redacted form, and fails; rekey puts the end of its standard error in the
// error.
func ExampleExecProvider_Refresh() {
	p := credentials.Exec("sh", "-c",
		`echo "asked for a new key ($REKEY_REASON: $REKEY_REJECTED_KEY_REDACTED); rotate it in the vault" >&2; exit 1`)
	rejected := credentials.Credential{Key: "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}

	_, err := p.Refresh(context.Background(), rejected)
	fmt.Println(err)
	// Output:
	// credentials: command "sh" exited with status 1: asked for a new key (rejected: sk_live_…p7dc); rotate it in the vault
}
