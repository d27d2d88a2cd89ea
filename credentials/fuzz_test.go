package credentials_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
)

// FuzzValidateRedact checks, for any string: Validate never panics; a key it
// accepts is never contained in its redacted form nor in any fmt rendering
// of a Credential; and its errors never quote a long key back.
func FuzzValidateRedact(f *testing.F) {
	for _, seed := range []string{
		"", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		`"quoted-key-1234567"`, "with space inside 1234", "line\nbreak1234567", "short",
		"\u201csmartquoted1234567\u201d", "________________", "****************", "…abcdefghijklmn…",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := credentials.Validate(key)
		if err != nil {
			if !errors.Is(err, credentials.ErrMalformedKey) {
				t.Fatalf("Validate error does not match ErrMalformedKey: %v", err)
			}
			if len(key) >= 16 && strings.Contains(err.Error(), key) {
				t.Fatalf("Validate error quotes the key: %v", err)
			}
			return
		}
		if r := credentials.Redact(key); strings.Contains(r, key) {
			t.Fatalf("Redact(%q) = %q contains the key", key, r)
		}
		c := credentials.Credential{Key: key}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if s := fmt.Sprintf(verb, c); strings.Contains(s, key) {
				t.Fatalf("%s of a Credential = %q contains the key", verb, s)
			}
		}
	})
}
