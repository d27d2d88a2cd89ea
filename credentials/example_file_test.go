package credentials_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// A key mounted from a Kubernetes secret (or written by any tool that
// replaces the file): the Cache checks the file once a minute while the key
// is in use, one stat each time, and swaps a new key in for every goroutine.
// credentials.File(path) does the same every 10 seconds.
func ExampleFileWith() {
	dir, err := os.MkdirTemp("", "rekey-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "api-key") // e.g. /var/run/secrets/example-api/api-key
	if err := os.WriteFile(path, []byte("sk_live_4eC39HqLyjWDarjtT1zdp7dc\n"), 0o600); err != nil {
		panic(err)
	}

	p := credentials.FileWith(path, credentials.FileOptions{PollInterval: time.Minute})
	cache := &credentials.Cache{Provider: p} // what transport.Transport and rekey.Client build
	defer cache.Close()
	cred, err := cache.Retrieve(context.Background())
	fmt.Println(cred, err)
	fmt.Println(p.PollInterval())
	// Output:
	// Credential{Key: sk_live_…p7dc} <nil>
	// 1m0s
}
