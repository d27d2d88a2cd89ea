package secretjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// key is a secret as a store would hold it: no prefix, so that its
// redacted form shows only its last 4 characters.
const key = "q8Zk2rT0vX5mB7nW3yL6pD9sF4hJ1cGe"

// leaks reports whether msg holds the key, or any 8 bytes of it in a row.
func leaks(msg string) bool {
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(msg, key[i:i+8]) {
			return true
		}
	}
	return false
}

func TestObject(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		fields int // -1: ErrNotObject
	}{
		{name: "object", data: `{"api_key":"` + key + `","owner":"billing"}`, fields: 2},
		{name: "white space around it", data: " \n{\"api_key\":\"" + key + "\"}\n ", fields: 1},
		{name: "empty object", data: `{}`, fields: 0},
		{name: "the key alone", data: key, fields: -1},
		{name: "empty", data: "", fields: -1},
		{name: "malformed JSON", data: `{"api_key":"` + key + `",}`, fields: -1},
		{name: "unterminated string", data: `{"api_key":"` + key, fields: -1},
		{name: "a string", data: `"` + key + `"`, fields: -1},
		{name: "an array", data: `["` + key + `"]`, fields: -1},
		{name: "null", data: `null`, fields: -1},
		{name: "a number", data: `12345`, fields: -1},
		{name: "trailing garbage", data: `{"api_key":"x"} ` + key, fields: -1},
		{name: "two objects", data: `{"api_key":"x"}{"api_key":"` + key + `"}`, fields: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := Object([]byte(tt.data))
			if tt.fields < 0 {
				// ErrNotObject itself, not wrapped: a syntax error would
				// quote a character of the secret.
				if err != ErrNotObject || obj != nil {
					t.Fatalf("Object = %v, %v; want nil, ErrNotObject", obj, err)
				}
				return
			}
			if err != nil || len(obj) != tt.fields {
				t.Fatalf("Object = %d fields, %v; want %d fields", len(obj), err, tt.fields)
			}
		})
	}
}

func TestString(t *testing.T) {
	many := map[string]string{}
	for i := range 12 {
		many[fmt.Sprintf("f%02d", i)] = `"` + key + `"`
	}
	tests := []struct {
		name  string
		obj   map[string]string // field → raw JSON
		field string
		want  string // the value, or with wantErr the error's message
		err   bool
	}{
		{name: "string", obj: map[string]string{"api_key": `"` + key + `"`}, field: "api_key", want: key},
		{name: "escaped string", obj: map[string]string{"api_key": `"a\u0062c"`}, field: "api_key", want: "abc"},
		{name: "empty string", obj: map[string]string{"api_key": `""`}, field: "api_key", want: ""},
		{name: "null is empty", obj: map[string]string{"api_key": `null`}, field: "api_key", want: ""},
		{name: "missing, with the names present listed", obj: map[string]string{"token": `"` + key + `"`, "owner": `"billing"`},
			field: "api_key", err: true, want: `the JSON object has no field "api_key" (its fields: "owner", "token")`},
		{name: "missing from an empty object", obj: map[string]string{}, field: "api_key", err: true,
			want: `the JSON object has no field "api_key" (its fields: none)`},
		{name: "missing, a key pasted as a name", obj: map[string]string{key: `""`, "owner": `"billing"`}, field: "api_key", err: true,
			want: `the JSON object has no field "api_key" (its fields: "owner", …1cGe)`},
		{name: "missing, more than ten names", obj: many, field: "api_key", err: true,
			want: `the JSON object has no field "api_key" (its fields: "f00", "f01", "f02", "f03", "f04", "f05", "f06", "f07", "f08", "f09", …)`},
		{name: "a number", obj: map[string]string{"api_key": `12345678901234567890`}, field: "api_key", err: true,
			want: `field "api_key" holds a number, not a string`},
		{name: "an object", obj: map[string]string{"api_key": `{"value":"` + key + `"}`}, field: "api_key", err: true,
			want: `field "api_key" holds an object, not a string`},
		{name: "an array", obj: map[string]string{"api_key": `["` + key + `"]`}, field: "api_key", err: true,
			want: `field "api_key" holds an array, not a string`},
		{name: "a boolean", obj: map[string]string{"api_key": `true`}, field: "api_key", err: true,
			want: `field "api_key" holds a boolean, not a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := String(rawObject(tt.obj), tt.field)
			if !tt.err {
				if err != nil || got != tt.want {
					t.Fatalf("String = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || got != "" {
				t.Fatalf("String = %q, %v; want a *FieldError", got, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if leaks(err.Error()) {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

func TestFieldErrorNote(t *testing.T) {
	tests := []struct {
		err  *FieldError
		want string
	}{
		{&FieldError{Field: "token", Note: `named by tag "rekey-field"`, Missing: true, Names: `"api_key"`},
			`the JSON object has no field "token" (named by tag "rekey-field") (its fields: "api_key")`},
		{&FieldError{Field: "token", Note: `named by tag "rekey-field"`, Kind: "a number"},
			`field "token" (named by tag "rekey-field") holds a number, not a string`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error:\n got %s\nwant %s", got, tt.want)
		}
	}
}

func TestTime(t *testing.T) {
	const notShown = `the expiry field "exp" is neither an RFC 3339 time nor Unix seconds (the value is not shown)`
	tests := []struct {
		name string
		raw  string // the field's raw JSON; "": missing
		want time.Time
		err  string
	}{
		{name: "RFC 3339", raw: `"2030-01-02T15:04:05Z"`, want: time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)},
		{name: "RFC 3339 with an offset and a fraction", raw: `"2030-01-02T15:04:05.5+02:00"`,
			want: time.Date(2030, 1, 2, 13, 4, 5, 5e8, time.UTC)},
		{name: "Unix seconds", raw: `1893596645`, want: time.Unix(1893596645, 0)},
		{name: "Unix seconds with a fraction", raw: `1893596645.25`, want: time.Unix(1893596645, 25e7)},
		{name: "Unix seconds as a string", raw: `" 1893596645 "`, want: time.Unix(1893596645, 0)},
		{name: "missing is unknown", raw: ""},
		{name: "null is unknown", raw: `null`},
		{name: "empty string is unknown", raw: `""`},
		{name: "white space is unknown", raw: `"  "`},
		{name: "words", raw: `"next tuesday ` + key + `"`, err: notShown},
		{name: "the key itself", raw: `"` + key + `"`, err: notShown},
		{name: "zero", raw: `0`, err: notShown},
		{name: "negative", raw: `-1893596645`, err: notShown},
		{name: "milliseconds", raw: `1893596645000`, err: notShown},
		{name: "milliseconds as a string", raw: `"1893596645000"`, err: notShown},
		{name: "a huge number", raw: `1e400`, err: notShown},
		{name: "a boolean", raw: `true`, err: `the expiry field "exp" holds a boolean, not an RFC 3339 time or Unix seconds`},
		{name: "an object", raw: `{"at":"` + key + `"}`, err: `the expiry field "exp" holds an object, not an RFC 3339 time or Unix seconds`},
		{name: "an array", raw: `[1893596645]`, err: `the expiry field "exp" holds an array, not an RFC 3339 time or Unix seconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := map[string]json.RawMessage{"api_key": json.RawMessage(strconv.Quote(key))}
			if tt.raw != "" {
				obj["exp"] = json.RawMessage(tt.raw)
			}
			got, err := Time(obj, "exp")
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Time = %v, %v; want the error %s", got, err, tt.err)
				}
				if leaks(err.Error()) {
					t.Errorf("error %q holds the secret", err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("Time = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestHugeValues: a large secret is read whole, and an error about a large
// object, or a long name, stays short and holds no value.
func TestHugeValues(t *testing.T) {
	big := strings.Repeat(key, 1<<15) // 1 MiB
	obj, err := Object([]byte(`{"api_key":"` + big + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := String(obj, "api_key"); err != nil || got != big {
		t.Fatalf("String of a 1 MiB value: %d bytes, %v", len(got), err)
	}
	if _, err := Object([]byte(big)); !errors.Is(err, ErrNotObject) || len(err.Error()) > 100 {
		t.Fatalf("Object of 1 MiB of text: %.200v", err)
	}

	var b strings.Builder
	b.WriteString(`{"` + big + `":1`)
	for i := range 10000 {
		fmt.Fprintf(&b, `,"field%05d":"%s"`, i, key)
	}
	b.WriteString("}")
	obj, err = Object([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error { _, err := String(obj, "api_key"); return err },
		func() error { _, err := Time(obj, "field00001"); return err },
	} {
		err := call()
		if err == nil {
			t.Fatal("no error")
		}
		if msg := err.Error(); len(msg) > 300 || leaks(msg) {
			t.Errorf("error of %d bytes, or holding the secret: %.400s", len(msg), msg)
		}
	}
}

func TestKind(t *testing.T) {
	for raw, want := range map[string]string{
		`"x"`: "a string", ` 12`: "a number", `-1`: "a number", `{}`: "an object", `[]`: "an array",
		`true`: "a boolean", `false`: "a boolean", `null`: "null", ``: "nothing", "  ": "nothing",
	} {
		if got := Kind(json.RawMessage(raw)); got != want {
			t.Errorf("Kind(%q) = %q, want %q", raw, got, want)
		}
	}
}

func rawObject(fields map[string]string) map[string]json.RawMessage {
	obj := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		obj[k] = json.RawMessage(v)
	}
	return obj
}
