package credentials

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Credential is an API key and, when known, the time it stops working.
//
// A Credential never prints its key: String, GoString, every fmt verb
// (%v, %+v, %#v, %s, %q, %x, ...), slog and encoding/json all render the
// redacted form from [Redact]. Read the Key field to use the key itself.
type Credential struct {
	// Key is the secret sent to the API.
	Key string
	// Expiry is when the key stops working. The zero value means unknown:
	// the key is used until the API rejects it.
	Expiry time.Time
}

// Expired reports whether the credential has a known expiry that has passed.
func (c Credential) Expired() bool {
	return !c.Expiry.IsZero() && !time.Now().Before(c.Expiry)
}

// String renders the credential with its key redacted, for logs and errors.
func (c Credential) String() string {
	var b strings.Builder
	b.WriteString("Credential{Key: ")
	b.WriteString(Redact(c.Key))
	if !c.Expiry.IsZero() {
		b.WriteString(", Expiry: ")
		b.WriteString(c.Expiry.Format(time.RFC3339))
	}
	b.WriteString("}")
	return b.String()
}

// GoString renders the credential as Go syntax with its key redacted (%#v).
func (c Credential) GoString() string {
	s := "credentials.Credential{Key:" + strconv.Quote(Redact(c.Key))
	if !c.Expiry.IsZero() {
		s += ", Expiry:" + strconv.Quote(c.Expiry.Format(time.RFC3339Nano))
	}
	return s + "}"
}

// Format implements fmt.Formatter so that no verb or flag prints the key.
func (c Credential) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(c.String()))
	default:
		fmt.Fprint(f, c.String())
	}
}

// LogValue implements slog.LogValuer: structured logs get the redacted key.
func (c Credential) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("key", Redact(c.Key))}
	if !c.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", c.Expiry))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON renders the redacted form, so that a Credential logged as JSON
// does not leak its key. Code that persists keys must encode Key explicitly.
func (c Credential) MarshalJSON() ([]byte, error) {
	v := struct {
		Key    string     `json:"key"`
		Expiry *time.Time `json:"expiry,omitempty"`
	}{Key: Redact(c.Key)}
	if !c.Expiry.IsZero() {
		v.Expiry = &c.Expiry
	}
	return json.Marshal(v)
}

// Redact returns a form of key that is safe to print: for keys of 16 bytes or
// more, the non-secret type prefix (such as "sk_live_", up to 8 bytes ending
// in '_' or '-') and the last 4 characters, as in "sk_live_…9f2c"; for
// shorter keys, "****"; for the empty key, `""`. The result is always
// shorter than the key it stands for (and than [MinKeyLength]), so it never
// contains a key that passes [Validate].
func Redact(key string) string {
	if key == "" {
		return `""`
	}
	if len(key) < 16 {
		return "****"
	}
	prefix := ""
	if i := strings.LastIndexAny(key[:8], "_-"); i >= 0 {
		prefix = key[:i+1]
	}
	return prefix + "…" + key[len(key)-4:]
}
