package transport_test

import (
	"testing"

	"github.com/rekeyhq/rekey/transport"
)

// BasicAuth.Validate refuses control characters (below 0x20, and DEL) in a
// fixed user name or password; a space is none, and may appear in either.
func TestBasicAuthValidateControlCharacters(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *transport.BasicAuth
		ok   bool
	}{
		{"space in the user", transport.BasicKeyAsPassword("api user"), true},
		{"space in the password", transport.BasicKeyAsUser("pass word"), true},
		{"unit separator (0x1f) in the user", transport.BasicKeyAsPassword("api\x1f"), false},
		{"DEL in the password", transport.BasicKeyAsUser("pass\x7f"), false},
	} {
		if err := tc.b.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v; want ok %v", tc.name, err, tc.ok)
		}
	}
}
