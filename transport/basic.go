package transport

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// BasicAuth sends the key in HTTP Basic authentication (RFC 7617), as
// "Authorization: Basic base64(user:password)", for the APIs that take it
// there. The key is one half of the pair and the other half is fixed:
//
//   - the key as the password, with a fixed user name: Mailgun ("api"),
//     Twilio (the account or API-key SID), Atlassian Cloud (the account's
//     email), Mailjet, Plivo: [BasicKeyAsPassword];
//   - the key as the user name, with a fixed or empty password: Stripe (""),
//     Freshdesk ("X"), Recurly: [BasicKeyAsUser].
//
// The Transport checks each new key for the place it goes
// ([credentials.ValidateBasicUser], [credentials.ValidateBasicPassword])
// and builds the header once per key. A key it cannot send (a colon in a
// key sent as the user name, a pair encoded by hand) fails the request with
// a [*CredentialError] matching credentials.ErrMalformedKey; nothing is
// sent. Errors, events and logs show neither the key nor its encoded form;
// the fixed user name may appear (the server may echo it), the fixed
// password never does.
type BasicAuth struct {
	// User is the fixed user name sent with the key as the password. It
	// must not contain a colon or a control character; it may be empty.
	// Leave it empty when KeyAsUser is set.
	User string

	// Password is the fixed password sent with the key as the user name,
	// often empty. It must not contain a control character. Leave it empty
	// unless KeyAsUser is set.
	Password string

	// KeyAsUser sends the key as the user name and Password as the
	// password. False sends User as the user name and the key as the
	// password.
	KeyAsUser bool
}

// BasicKeyAsPassword returns the BasicAuth that sends the key as the
// password of the fixed user name user: "api" for Mailgun, the account SID
// for Twilio, the account's email for Atlassian Cloud.
func BasicKeyAsPassword(user string) *BasicAuth { return &BasicAuth{User: user} }

// BasicKeyAsUser returns the BasicAuth that sends the key as the user name
// with the fixed password password: "" for Stripe, "X" for Freshdesk.
func BasicKeyAsUser(password string) *BasicAuth {
	return &BasicAuth{Password: password, KeyAsUser: true}
}

// Validate reports a BasicAuth that cannot work: a colon or control
// character in User, a control character in Password, or the half that the
// key fills set as well. [Transport] and rekey.NewClient report the same.
func (b *BasicAuth) Validate() error {
	switch {
	case b.KeyAsUser && b.User != "":
		return errors.New("rekey: BasicAuth has KeyAsUser and a User: the key is the user name; leave User empty (see transport.BasicKeyAsUser)")
	case !b.KeyAsUser && b.Password != "":
		return errors.New("rekey: BasicAuth has a Password and the key as the password: set KeyAsUser to send the key as the user name (see transport.BasicKeyAsUser), or leave Password empty")
	case strings.IndexByte(b.User, ':') >= 0:
		return fmt.Errorf("rekey: BasicAuth.User %q contains a colon, which HTTP Basic auth cannot carry in a user name", b.User)
	case hasControl(b.User):
		return fmt.Errorf("rekey: BasicAuth.User %q contains a control character", b.User)
	case hasControl(b.Password):
		return errors.New("rekey: BasicAuth.Password contains a control character")
	}
	return nil
}

// String describes b with its fixed password redacted; it holds no key.
func (b *BasicAuth) String() string {
	if b == nil {
		return "<nil>"
	}
	if b.KeyAsUser {
		return "transport.BasicAuth{KeyAsUser: true, Password: " + strconv.Quote(credentials.Redact(b.Password)) + "}"
	}
	return "transport.BasicAuth{User: " + strconv.Quote(b.User) + "}"
}

// Format implements fmt.Formatter: every verb prints [BasicAuth.String], so
// that %#v does not show the fixed password.
func (b *BasicAuth) Format(f fmt.State, _ rune) { fmt.Fprint(f, b.String()) }

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// check reports whether key can go where b puts it.
func (b *BasicAuth) check(key string) error {
	if b.KeyAsUser {
		return credentials.ValidateBasicUser(key)
	}
	return credentials.ValidateBasicPassword(b.User, key)
}

// encode returns the base64 form of the pair that carries key.
func (b *BasicAuth) encode(key string) string {
	if b.KeyAsUser {
		return base64.StdEncoding.EncodeToString([]byte(key + ":" + b.Password))
	}
	return base64.StdEncoding.EncodeToString([]byte(b.User + ":" + key))
}

// setupBasic checks Basic against the other placement fields.
func (t *Transport) setupBasic() error {
	switch {
	case t.Query != "":
		return errors.New("rekey: transport has both Basic and Query: the key goes in one place")
	case t.Header != "" && !strings.EqualFold(t.Header, "Authorization"):
		return fmt.Errorf("rekey: transport has Basic and Header %q: Basic auth goes in Authorization; leave Header empty", t.Header)
	case t.Scheme != "":
		return errors.New("rekey: transport has both Basic and a Scheme: Basic auth sets its own; leave Scheme empty")
	}
	if err := t.Basic.Validate(); err != nil {
		return err
	}
	b := *t.Basic
	t.basic = &b
	return nil
}

// usable reports why key cannot be sent in the Transport's placement, or
// nil. Only Basic auth has more to check than the providers' [credentials.Validate].
func (t *Transport) usable(m credentials.Member) error {
	if t.basic == nil {
		return nil
	}
	return t.authFor(m).err
}

// scrub removes from e every form of key that was sent: the key, and in
// Basic auth its encoded pair (with and without padding), in case the
// server quoted the header.
func (t *Transport) scrub(e *apierr.APIError, key string) {
	e.Scrub(key)
	if t.basic != nil {
		e.Scrub(strings.TrimRight(t.basic.encode(key), "="))
	}
}
