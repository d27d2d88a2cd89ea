package credentials_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
)

func TestValidateBasic(t *testing.T) {
	const key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name     string
		user     func(string) error // the key as the user name
		password func(string) error // the key as the password of "api"
		key      string
		userErr  string // "" means valid
		passErr  string
	}{
		{name: "a plain key", key: key},
		{name: "a Twilio auth token (32 hex digits)", key: "9f86d081884c7d659a2feaa0c55ad015"},
		{name: "a colon", key: "sk_test_abc:defghijklmnop", userErr: "colon at byte 12"},
		{name: "a colon first", key: ":" + key, userErr: "colon at byte 1,"},
		{name: "the pair pasted as the key", key: "api:" + key, userErr: "colon at byte 4", passErr: "starts with the user name and a colon"},
		{name: "the pair encoded by hand", key: enc("api:" + key), userErr: "already a base64-encoded", passErr: "already a base64-encoded"},
		{name: "Stripe's pair encoded by hand", key: enc("sk_live_abcdefghijklmnop:"), userErr: "already a base64-encoded", passErr: "already a base64-encoded"},
		{name: "an email's pair encoded by hand", key: enc("jane@example.com:ATATT3xFfGF0abcdefgh"), userErr: "already a base64-encoded", passErr: "already a base64-encoded"},
		{name: "base64 of a short pair is a key like any", key: enc("a:b") + "abcdefgh"},
		// The edges of what preEncoded recognises.
		{name: "an encoded pair of 12 characters", key: enc("abcdefgh:"), userErr: "already a base64-encoded", passErr: "already a base64-encoded"},
		{name: "an encoded pair with a password of MinKeyLength", key: enc("pw:12345678"), userErr: "already a base64-encoded", passErr: "already a base64-encoded"},
		{name: "an encoded pair with the letters and digits at the ends of their ranges", key: enc("AZaz09-._~+@:password"), userErr: "already a base64-encoded", passErr: "already a base64-encoded"},
		{name: "an encoded pair whose base64 holds a +", key: enc("jane@example.com:~token-0000"), userErr: "already a base64-encoded", passErr: "already a base64-encoded"},
		{name: "what Validate rejects", key: "Bearer " + key, userErr: `"Bearer" scheme`, passErr: `"Bearer" scheme`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				form string
				err  error
				want string
			}{
				{"user", credentials.ValidateBasicUser(tt.key), tt.userErr},
				{"password", credentials.ValidateBasicPassword("api", tt.key), tt.passErr},
			} {
				switch {
				case c.want == "" && c.err != nil:
					t.Errorf("as the %s: %v; want it valid", c.form, c.err)
				case c.want != "" && (!errors.Is(c.err, credentials.ErrMalformedKey) || !strings.Contains(c.err.Error(), c.want)):
					t.Errorf("as the %s: %v; want ErrMalformedKey saying %q", c.form, c.err, c.want)
				case c.err != nil && strings.Contains(c.err.Error(), tt.key):
					t.Errorf("as the %s: the error shows the key: %v", c.form, c.err)
				}
			}
		})
	}
}

// TestValidateBasicTakesRandomKeysForKeys: keys as APIs issue them (random
// base62, hex, base64 of random bytes) are never taken for a pair encoded
// by hand.
func TestValidateBasicTakesRandomKeysForKeys(t *testing.T) {
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	const hex = "0123456789abcdef"
	random := func(alphabet string, n int) string {
		b := make([]byte, n)
		rand.Read(b)
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		return string(b)
	}
	for i := 0; i < 20000; i++ {
		raw := make([]byte, 12+i%24)
		rand.Read(raw)
		for _, k := range []string{random(base62, 16+4*(i%5)), random(hex, 32), base64.StdEncoding.EncodeToString(raw)} {
			if err := credentials.ValidateBasicUser(k); err != nil {
				t.Fatalf("ValidateBasicUser(random key): %v", err)
			}
			if err := credentials.ValidateBasicPassword("api", k); err != nil {
				t.Fatalf("ValidateBasicPassword(random key): %v", err)
			}
		}
	}
}
