package credentials_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// Validate catches the usual copy-and-paste mistakes before anything is
// sent; the error names the problem, never the key.
func ExampleValidate() {
	for _, key := range []string{
		"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		"Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		"'sk_live_4eC39HqLyjWDarjtT1zdp7dc'",
		"sk_live_4eC39HqLyjWDarjtT1zdp7dc\n",
		"<your key here>",
		"",
	} {
		if err := credentials.Validate(key); err != nil {
			fmt.Println(errors.Is(err, credentials.ErrMalformedKey), err)
		} else {
			fmt.Println("ok")
		}
	}
	// Output:
	// ok
	// true credentials: malformed API key: the key starts with the "Bearer" scheme: store only the key; the transport adds the scheme
	// true credentials: malformed API key: the key is wrapped in quotes: remove them; they are not part of the key
	// true credentials: malformed API key: the key has leading or trailing whitespace: remove it (a trailing newline is a common cause)
	// true credentials: malformed API key: the key contains whitespace at byte 6: check for two keys pasted together or a line-wrapped copy
	// true credentials: malformed API key: the key is empty: set it to the API key issued for your account
}

// For an API that takes the key as the user name of HTTP Basic auth
// (Stripe, Freshdesk): a colon would split it.
func ExampleValidateBasicUser() {
	fmt.Println(credentials.ValidateBasicUser("sk_test_4eC39HqLyjWDarjtT1zdp7dc"))
	fmt.Println(credentials.ValidateBasicUser("sk_test_4eC39HqLyjWDarjtT1zdp7dc:"))
	// Output:
	// <nil>
	// credentials: malformed API key: the key contains a colon at byte 33, which HTTP Basic auth cannot carry in a user name: if it is "user:password", store only the key and configure the other part on the transport
}

// For an API that takes the key as the password of HTTP Basic auth with a
// fixed user name (Mailgun's "api"): the pair pasted where the key belongs
// is caught.
func ExampleValidateBasicPassword() {
	fmt.Println(credentials.ValidateBasicPassword("api", "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"))
	fmt.Println(credentials.ValidateBasicPassword("api", "api:key-3ax6xnjp29jd6fds4gc373sgvjxteol0"))
	// Output:
	// <nil>
	// credentials: malformed API key: the key starts with the user name and a colon: store only the key (the password); the transport adds the user name
}

// Redact gives the form of a key that is safe to log: its type prefix and
// last four characters, enough to tell keys apart.
func ExampleRedact() {
	fmt.Println(credentials.Redact("sk_live_4eC39HqLyjWDarjtT1zdp7dc"))
	fmt.Println(credentials.Redact("xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"))
	fmt.Println(credentials.Redact("short-key"))
	// Output:
	// sk_live_…p7dc
	// xoxb-…bqgy
	// ****
}

// A Credential prints, logs and marshals with its key redacted, whatever
// the verb; read the Key field to use the key.
func ExampleCredential() {
	cred := credentials.Credential{
		Key:    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		Expiry: time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC),
	}
	fmt.Printf("%v\n%+v\n%#v\n", cred, cred, cred)
	b, _ := json.Marshal(map[string]any{"cred": cred})
	fmt.Println(string(b))
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("key loaded", "cred", cred)
	fmt.Println("expired:", cred.Expired())
	// Output:
	// Credential{Key: sk_live_…p7dc, Expiry: 2030-01-02T15:04:05Z}
	// Credential{Key: sk_live_…p7dc, Expiry: 2030-01-02T15:04:05Z}
	// credentials.Credential{Key:"sk_live_…p7dc", Expiry:"2030-01-02T15:04:05Z"}
	// {"cred":{"key":"sk_live_…p7dc","expiry":"2030-01-02T15:04:05Z"}}
	// level=INFO msg="key loaded" cred.key=sk_live_…p7dc cred.expiry=2030-01-02T15:04:05.000Z
	// expired: false
}

// A refresh hook marks a failure that retrying cannot cure as Permanent:
// the Cache stops at once instead of backing off and trying again.
func ExamplePermanent() {
	calls := 0
	cache := &credentials.Cache{
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			calls++
			return credentials.Credential{}, credentials.Permanent(errors.New("key endpoint: 401 invalid account secret"))
		},
	}
	defer cache.Close()
	_, err := cache.Retrieve(context.Background())
	fmt.Println(err)
	fmt.Println("calls:", calls)
	// Output:
	// key endpoint: 401 invalid account secret
	// calls: 1
}

// A hook that acts on the reason (extend an expiring key, mint one for a
// rejected key) can be called directly with one, in a test or a wrapper.
func ExampleWithRefreshReason() {
	hook := func(ctx context.Context, old credentials.Credential) (credentials.Credential, error) {
		if reason, _ := credentials.RefreshReasonFrom(ctx); reason == credentials.ReasonExpiring {
			fmt.Println("extending the key")
			return credentials.Credential{Key: old.Key, Expiry: old.Expiry.Add(time.Hour)}, nil
		}
		fmt.Println("minting a new key")
		return credentials.Credential{Key: "sk_live_minted00000000000002"}, nil
	}
	old := credentials.Credential{Key: "sk_live_current0000000000001", Expiry: time.Now().Add(time.Minute)}

	ctx := context.Background()
	hook(credentials.WithRefreshReason(ctx, credentials.ReasonExpiring), old)
	hook(credentials.WithRefreshReason(ctx, credentials.ReasonRejected), old)
	// Output:
	// extending the key
	// minting a new key
}
