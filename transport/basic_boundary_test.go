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

// A Transport describes its Basic setting when it has one, and its header
// or query parameter otherwise; never a key.
func TestTransportString(t *testing.T) {
	for _, tc := range []struct {
		tr   *transport.Transport
		want string
	}{
		{&transport.Transport{Header: "X-API-Key", Hosts: []string{"api.example.com"}},
			`transport.Transport{Header: "X-API-Key", Query: "", Hosts: ["api.example.com"]}`},
		{&transport.Transport{Basic: transport.BasicKeyAsPassword("api")},
			`transport.Transport{Basic: transport.BasicAuth{User: "api"}, Hosts: []}`},
	} {
		if got := tc.tr.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
	}
}
