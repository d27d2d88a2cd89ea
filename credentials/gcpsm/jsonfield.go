package gcpsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// jsonObject decodes a payload holding one JSON object, keeping its values
// raw. Its error never quotes the payload: a syntax error would show a
// character of the secret.
func jsonObject(data []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, errors.New("not a JSON object")
	}
	return obj, nil
}

// stringField returns the string in obj[name]. Its errors name the field and
// the fields present, never a value.
func stringField(obj map[string]json.RawMessage, name string) (string, error) {
	raw, ok := obj[name]
	if !ok {
		return "", fmt.Errorf("the JSON payload has no field %s (its fields: %s)", quote(name), fieldNames(obj))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %s of the JSON payload holds %s, not a string", quote(name), jsonKind(raw))
	}
	return s, nil
}

// timeField reads obj[name] as an RFC 3339 time or Unix seconds (a number,
// or a string of digits). Missing, null or "" is the zero time: unknown.
func timeField(obj map[string]json.RawMessage, name string) (time.Time, error) {
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
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			return time.Unix(n, 0).UTC(), nil
		}
		return time.Time{}, fmt.Errorf("the expiry field %s is neither an RFC 3339 time nor Unix seconds (the value is not shown)", quote(name))
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil && f > 0 && f < math.MaxInt32*4 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("the expiry field %s holds %s, not an RFC 3339 time or Unix seconds", quote(name), jsonKind(raw))
}

// jsonKind names the JSON type of a raw value, for errors.
func jsonKind(raw json.RawMessage) string {
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

// fieldNames lists an object's field names for an error, sorted and bounded.
// A long name goes through credentials.Redact, in case a key was pasted where
// a name belongs.
func fieldNames(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "none"
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		if len(k) >= 16 {
			names = append(names, credentials.Redact(k))
		} else {
			names = append(names, quote(k))
		}
	}
	slices.Sort(names)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return strings.Join(names, ", ")
}

func quote(s string) string { return strconv.Quote(s) }
