// Package secretjson reads an API key, and its expiry, out of a secret
// store's value that holds a JSON object, such as
// {"api_key": "...", "expires_at": "2030-01-02T15:04:05Z"}. The secret
// stores (credentials/awssm, credentials/azkv, credentials/gcpsm) all read
// their values with it, so that a value means the same in each and a
// mistake in it is explained in the same words.
//
// No error of this package holds a value of the object, or any part of the
// object's text: [Object] says only that the value is not a JSON object (a
// syntax error would quote a character of the secret); the errors about a
// field name the field and the JSON type it holds; a field name of 16 bytes
// or more, which may be a key pasted where a name belongs, is shown
// redacted ([credentials.Redact]).
//
// The store modules import this package from the core module. Every module
// is released at one version (RELEASING.md), but a program may build an
// older store module against a newer core: change this package's API by
// adding to it, never by changing or removing a name.
package secretjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// ErrNotObject is the error of [Object] for a value that is not exactly one
// JSON object.
var ErrNotObject = errors.New("not a JSON object")

// maxUnix bounds the Unix seconds an expiry may be (2514-05-30): a larger
// number is milliseconds or nanoseconds, or not a time at all.
const maxUnix = math.MaxInt32 * 4

// Object decodes data, which must hold one JSON object and nothing after it
// but white space, keeping the values raw for [String] and [Time]. Its only
// error is [ErrNotObject].
func Object(data []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, ErrNotObject
	}
	return obj, nil
}

// A FieldError says why [String] could not read a field: the object has no
// such field (Missing; Names lists the fields it has), or the field holds
// something else than a string (Kind). Its message never holds a value.
type FieldError struct {
	Field   string // the field's name, as asked for
	Note    string // where the name came from, said after it ("named by tag \"t\""); may be empty
	Missing bool   // the object has no field Field
	Names   string // with Missing: the object's field names, from [Names]
	Kind    string // without Missing: the JSON type the field holds, from [Kind]
}

// Error says, for example, `the JSON object has no field "api_key" (its
// fields: "owner", "token")` or `field "api_key" holds a number, not a
// string`.
func (e *FieldError) Error() string {
	name := strconv.Quote(e.Field)
	if e.Note != "" {
		name += " (" + e.Note + ")"
	}
	if e.Missing {
		return "the JSON object has no field " + name + " (its fields: " + e.Names + ")"
	}
	return "field " + name + " holds " + e.Kind + ", not a string"
}

// String returns the string that obj's field name holds, or a *[FieldError].
// A null reads as "", as encoding/json has it.
func String(obj map[string]json.RawMessage, name string) (string, error) {
	raw, ok := obj[name]
	if !ok {
		return "", &FieldError{Field: name, Missing: true, Names: Names(obj)}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &FieldError{Field: name, Kind: Kind(raw)}
	}
	return s, nil
}

// Time reads obj's field name as an expiry: an RFC 3339 time
// ("2030-01-02T15:04:05Z"), or Unix seconds, as a JSON number (a fraction
// is kept) or a string of digits. A missing field, null, or a string of
// white space is the zero time: unknown. Anything else is an error that
// names the field, never its value.
func Time(obj map[string]json.RawMessage, name string) (time.Time, error) {
	raw := bytes.TrimSpace(obj[name])
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		s = strings.TrimSpace(s)
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < maxUnix {
			return time.Unix(n, 0).UTC(), nil
		}
		return time.Time{}, notTime(name)
	}
	if kind := Kind(raw); kind != "a number" {
		return time.Time{}, errors.New("the expiry field " + strconv.Quote(name) + " holds " + kind +
			", not an RFC 3339 time or Unix seconds")
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f <= 0 || f >= maxUnix {
		return time.Time{}, notTime(name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func notTime(name string) error {
	return errors.New("the expiry field " + strconv.Quote(name) +
		" is neither an RFC 3339 time nor Unix seconds (the value is not shown)")
}

// Kind names the JSON type of a raw value, for an error: "a string", "a
// number", "an object", "an array", "a boolean", "null", or "nothing".
func Kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// Names lists obj's field names for an error, never a value: sorted, at most
// ten, each quoted or, from 16 bytes on, redacted; "none" for no field.
func Names(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "none"
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, FieldName(k))
	}
	slices.Sort(names)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return strings.Join(names, ", ")
}

// FieldName shows a field name found in a secret for an error: quoted, or
// from 16 bytes on through [credentials.Redact], in case a key was pasted
// where a name belongs.
func FieldName(name string) string {
	if len(name) >= 16 {
		return credentials.Redact(name)
	}
	return strconv.Quote(name)
}
