package azkv

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey/credentials"
)

// maxListPages bounds one poll's listing: 200 pages of 25 are 5,000
// versions. Beyond that, a poll says to poll by GET rather than send
// hundreds of requests, and a server whose next links never end cannot
// keep a poll going.
const maxListPages = 200

// pollByList lists the secret's versions (properties only), picks the
// newest usable one, and reads it with one GET unless it is the version
// the Provider last read, with the same properties, and current is still
// that version's key. same reports that case: nothing was read.
func (p *Provider) pollByList(ctx context.Context, current credentials.Credential) (v *version, same bool, err error) {
	held := p.last.Load()
	pick, err := p.newest(ctx, held)
	if err != nil {
		return nil, false, err
	}
	id := pick.ID.Version()
	if held != nil && held.id == id && held.stamp == p.stamp(pick.Attributes, pick.ContentType, pick.Tags) &&
		held.cred.Key == current.Key && held.cred.Expiry.Equal(current.Expiry) {
		return nil, true, nil
	}
	v, err = p.get(ctx, "Poll", id)
	return v, false, err
}

// newest lists every page of the secret's versions and returns the newest
// usable one (see [Provider.Poll] for the rule). held, if not nil, is the
// version the Provider holds, which wins a tie.
func (p *Provider) newest(ctx context.Context, held *version) (*azsecrets.SecretProperties, error) {
	now := time.Now()
	var best, newestAny *azsecrets.SecretProperties
	listed := 0
	pager := p.api.NewListSecretPropertiesVersionsPager(p.name, nil)
	for pages := 0; pager.More(); pages++ {
		if pages == maxListPages {
			return nil, &Error{Op: "Poll", Name: p.name, Vault: p.vaultHost(), local: true,
				msg:  "listing the secret's versions: more than " + strconv.Itoa(maxListPages) + " pages (" + strconv.Itoa(listed) + " versions so far)",
				hint: "poll with one GET of the current version instead (azkv.WithPollByGet)"}
		}
		var resp *http.Response
		page, err := pager.NextPage(policy.WithCaptureResponse(ctx, &resp))
		p.seeVault(resp)
		if err != nil {
			return nil, p.fail(ctx, call{op: "Poll", list: true}, err, resp)
		}
		for _, sp := range page.Value {
			if sp == nil || sp.ID == nil || sp.ID.Version() == "" {
				continue
			}
			listed++
			if newestAny == nil || newer(sp, newestAny, nil) {
				newestAny = sp
			}
			if p.usable(sp.Attributes, now) && (best == nil || newer(sp, best, held)) {
				best = sp
			}
		}
	}
	if best == nil {
		return nil, p.noUsableVersion(newestAny, now)
	}
	return best, nil
}

// usable reports whether a version can be picked: enabled, already valid
// (nbf), and not expired unless exp is ignored ([WithoutExpiry]).
func (p *Provider) usable(a *azsecrets.SecretAttributes, now time.Time) bool {
	if a == nil {
		return true
	}
	switch {
	case a.Enabled != nil && !*a.Enabled:
		return false
	case a.NotBefore != nil && a.NotBefore.After(now):
		return false
	case a.Expires != nil && !a.Expires.After(now) && !p.cfg.noExpiry:
		return false
	}
	return true
}

// newer reports whether version a is newer than b: created later; in the
// same second, the held version first, then updated later, then the
// greater version ID (an arbitrary but stable choice).
func newer(a, b *azsecrets.SecretProperties, held *version) bool {
	ca, cb := created(a), created(b)
	if !ca.Equal(cb) {
		return ca.After(cb)
	}
	ida, idb := a.ID.Version(), b.ID.Version()
	if held != nil && (ida == held.id) != (idb == held.id) {
		return ida == held.id
	}
	ua, ub := updated(a), updated(b)
	if !ua.Equal(ub) {
		return ua.After(ub)
	}
	return ida > idb
}

// created is a version's creation time, or its update time if Key Vault
// gave none; zero if neither.
func created(sp *azsecrets.SecretProperties) time.Time {
	if a := sp.Attributes; a != nil {
		if a.Created != nil {
			return *a.Created
		}
		if a.Updated != nil {
			return *a.Updated
		}
	}
	return time.Time{}
}

func updated(sp *azsecrets.SecretProperties) time.Time {
	if a := sp.Attributes; a != nil && a.Updated != nil {
		return *a.Updated
	}
	return time.Time{}
}

// noUsableVersion explains a listing without a usable version, by the
// state of the newest version (nil: the listing was empty).
func (p *Provider) noUsableVersion(newest *azsecrets.SecretProperties, now time.Time) *Error {
	e := &Error{Op: "Poll", Name: p.name, Vault: p.vaultHost(), local: true}
	if newest == nil {
		e.Kind = ErrNotFound
		e.msg = "Key Vault lists no version of the secret"
		e.hint = "check the secret's name and the vault (az keyvault secret show --vault-name " + p.vaultName() + " --name " + p.name +
			"); a secret deleted recently can be recovered (az keyvault secret recover)"
		return e
	}
	e.Version = newest.ID.Version()
	a := newest.Attributes
	if a == nil {
		a = &azsecrets.SecretAttributes{}
	}
	switch {
	case a.Enabled != nil && !*a.Enabled:
		e.Kind = ErrDisabled
		e.msg = "no version is usable, and the newest is disabled"
		e.hint = p.disabledHint(e.Version)
	case a.Expires != nil && !a.Expires.After(now) && !p.cfg.noExpiry:
		e.Kind = ErrExpired
		e.msg = "no version is usable, and the newest expired at " + a.Expires.UTC().Format(time.RFC3339) + " (its expiration date, exp)"
		e.hint = p.expiredHint(e.Version)
	default: // not yet valid
		e.Kind = ErrNoKey
		e.msg = "no version is usable yet: the newest is not valid yet (its not-before date, nbf"
		if a.NotBefore != nil {
			e.msg += ", is " + a.NotBefore.UTC().Format(time.RFC3339)
		}
		e.msg += ")"
		e.hint = "wait for that date, or set the key as a new version without a not-before date (az keyvault secret set)"
	}
	return e
}

// stamp sums up the properties of a version that the key read from it
// depends on, besides its immutable value: a version whose ID and stamp
// did not change holds the same key with the same expiry. Its update time
// moves with every change of its properties (to the second); its expiry,
// content type and field tag are compared too, for a change within the
// second of the read. Enabled and nbf are not: a version picked by a poll
// is enabled and valid, as is one read successfully.
func (p *Provider) stamp(a *azsecrets.SecretAttributes, contentType *string, tags map[string]*string) string {
	var b strings.Builder
	unix := func(t *time.Time) {
		if t != nil {
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		}
		b.WriteByte('|')
	}
	if a != nil {
		unix(a.Updated)
		unix(a.Expires)
	}
	b.WriteByte('|')
	if contentType != nil {
		b.WriteString(*contentType)
	}
	if p.cfg.fieldTag != "" {
		b.WriteByte('|')
		if t := tags[p.cfg.fieldTag]; t != nil {
			b.WriteString(*t)
		}
	}
	return b.String()
}
