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
