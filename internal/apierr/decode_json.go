package apierr

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// maxDepth bounds how deeply the decoder follows nested error objects.
const maxDepth = 8

// candidate is a value found for one field of the APIError, with the rank
// of the name it was found under (lower is more specific).
type candidate struct {
	value string
	rank  int
}

// found is what the decoder extracted from an error object.
type found struct{ code, message, requestID candidate }

func emptyFound() found {
	return found{candidate{rank: none}, candidate{rank: none}, candidate{rank: none}}
}

// offer replaces c with v if v is more specific.
func (c *candidate) offer(value string, rank int) {
	if value != "" && rank < c.rank {
		*c = candidate{value, rank}
	}
}

// take replaces c with o if o is more specific, or as specific and inner
// (ties go to the inner error).
func (c *candidate) take(o candidate, inner bool) {
	if o.rank < c.rank || inner && o.rank == c.rank && o.value != "" {
		*c = o
	}
}

// fill replaces c with o if o's name is of a more specific class (a code
// rather than a type or a status): a list of errors fills in the code its
// wrapper lacks, or names with something better than the wrapper's own
// type, but a status beside it stays.
func (c *candidate) fill(o candidate) {
	if o.rank/10 < c.rank/10 {
		*c = o
	}
}

// decodeJSON extracts a code, a message and a request ID from a JSON error
// body. ok is false if the body is not JSON.
func decodeJSON(body []byte, status int) (f found, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return f, false
	}
	d := jsonDecoder{status: status}
	f = emptyFound()
	switch v := v.(type) {
	case map[string]any:
		f = d.object(v, 0)
	case []any: // a top-level list of errors: the first is the error
		d.list(&f, v, 0)
	case string:
		f.message.offer(v, rankMessage)
	}
	return f, true
}

// jsonDecoder classifies members by name; status is the response's, so
// that a code repeating it can be left out.
type jsonDecoder struct{ status int }

// object extracts the fields of an error object: its own members by name,
// then what its containers hold. "error", "fault" and "detail" (as
// objects) hold the error itself, and what they say wins ties; "errors"
// is a list of errors whose first fills in what the object lacks, or
// names more specifically ({"type": "error.list", "errors": [{"code":
// "token_not_found"}]} has the code token_not_found); "message" as an
// object holds the message; "extensions" (GraphQL) holds the code.
func (d jsonDecoder) object(obj map[string]any, depth int) found {
	f := emptyFound()
	if depth > maxDepth {
		return f
	}
	var title, errWord string
	var containers []map[string]any
	var list []any
	var message map[string]any
	for _, m := range sortedKeys(obj) {
		k, n := m.raw, m.norm
		v := obj[k]
		switch {
		case n == "error":
			switch v := v.(type) {
			case string:
				errWord = v
			case map[string]any:
				containers = append(containers, v)
			case []any:
				list = v
			}
			continue
		case n == "errors":
			switch v := v.(type) {
			case string:
				f.message.offer(v, rankErrorsText)
			case []any:
				list = v
			}
			continue
		case n == "fault" || n == "detail":
			if m, ok := v.(map[string]any); ok {
				containers = append(containers, m)
				continue
			}
		case n == "message":
			if m, ok := v.(map[string]any); ok {
				message = m
				continue
			}
		case n == "extensions":
			if m, ok := v.(map[string]any); ok {
				d.codes(&f, m)
			}
			continue
		case n == "details":
			if l, ok := v.([]any); ok {
				standardDetails(&f, l)
				continue
			}
		case n == "title":
			title, _ = v.(string)
			continue
		}
		d.member(&f, k, n, v)
	}

	// "title" names the problem when there is a detail; alone, it is the
	// message. A lone string in "error" is the code if it is an
	// identifier, the message if it is a sentence and nothing else is.
	if isIdentifier(errWord) {
		f.code.offer(errWord, rankCode)
	} else if f.message.rank > rankDetail && message == nil && len(containers) == 0 {
		f.message.offer(errWord, rankMessage)
	} else {
		f.code.offer(errWord, rankErrorWord)
	}
	if f.message.value != "" || message != nil || len(containers) > 0 {
		f.code.offer(title, rankTitle)
	} else {
		f.message.offer(title, rankTitleText)
	}

	for _, c := range containers {
		in := d.object(c, depth+1)
		f.code.take(in.code, true)
		f.message.take(in.message, true)
		f.requestID.take(in.requestID, false)
	}
	if message != nil {
		in := d.object(message, depth+1)
		f.message.take(in.message, true)
		f.requestID.take(in.requestID, false)
	}
	d.list(&f, list, depth)
	if id, ok := obj["id"].(string); ok && isIdentifier(id) && f.code.rank == none {
		f.code.offer(id, rankID)
	}
	return f
}

// list fills in f from the first element of a list of errors.
func (d jsonDecoder) list(f *found, list []any, depth int) {
	if len(list) == 0 {
		return
	}
	switch v := list[0].(type) {
	case string:
		f.message.offer(v, rankErrorsText)
	case map[string]any:
		in := d.object(v, depth+1)
		f.code.fill(in.code)
		f.message.take(in.message, false)
		f.requestID.take(in.requestID, false)
	}
}

// member classifies one member of an error object by its name.
func (d jsonDecoder) member(f *found, raw, n string, v any) {
	switch v := v.(type) {
	case string:
		d.text(f, raw, n, v)
	case json.Number:
		d.code(f, raw, n, v.String())
	case map[string]any:
		d.child(f, v)
	}
}

// text offers a string member (or an XML element's text) as a message, a
// request ID or a code, by its name.
func (d jsonDecoder) text(f *found, raw, n, v string) {
	if r := messageRank(n); r != none {
		f.message.offer(v, r)
		return
	}
	if r := requestIDRank(n); r != none {
		f.requestID.offer(v, r)
		return
	}
	d.code(f, raw, n, v)
}

// code offers a code-like member: numbers that do not just repeat the
// status, and, for names that may also hold prose or a verdict (reason,
// status, name, type), identifiers that say more than "error".
func (d jsonDecoder) code(f *found, raw, n, v string) {
	r := codeRank(raw, n)
	switch {
	case r == none:
		return
	case v == strconv.Itoa(d.status):
		return
	case raw == "__type":
		v = typeName(v)
	case n == "reason" && !isIdentifier(v):
		f.message.offer(v, rankReasonText)
		return
	case r > rankErrorType && (!isIdentifier(v) || isGeneric(v) || isNumber(v)):
		return
	}
	f.code.offer(v, r)
}

// codes offers the code-like members of obj (GraphQL's extensions).
func (d jsonDecoder) codes(f *found, obj map[string]any) {
	for _, m := range sortedKeys(obj) {
		k, n := m.raw, m.norm
		switch v := obj[k].(type) {
		case string:
			d.code(f, k, n, v)
		case json.Number:
			d.code(f, k, n, v.String())
		}
	}
}

// child reads a nested object that is not an error container: its
// request ID if it holds one ({"meta": {"request_id": ...}}), and its id
// or code if it declares itself an error ({"sys": {"type": "Error", "id":
// "AccessTokenInvalid"}}).
func (d jsonDecoder) child(f *found, obj map[string]any) {
	for _, m := range sortedKeys(obj) {
		if s, ok := obj[m.raw].(string); ok {
			f.requestID.offer(s, requestIDRank(m.norm))
		}
	}
	if t, _ := obj["type"].(string); strings.EqualFold(t, "error") {
		for _, k := range []string{"code", "id"} {
			if s, ok := obj[k].(string); ok && isIdentifier(s) {
				f.code.offer(s, rankTypedChild)
			}
		}
	}
}

// standardDetails reads the details list of a google.rpc.Status
// (AIP-193): the reason of a google.rpc.ErrorInfo is the most specific
// code there is, and a google.rpc.RequestInfo holds the request ID.
func standardDetails(f *found, details []any) {
	for _, e := range details {
		d, ok := e.(map[string]any)
		if !ok {
			continue
		}
		t, _ := d["@type"].(string)
		switch {
		case strings.HasSuffix(t, "google.rpc.ErrorInfo"):
			r, _ := d["reason"].(string)
			f.code.offer(r, rankStandardCode)
		case strings.HasSuffix(t, "google.rpc.RequestInfo"):
			r, _ := d["requestId"].(string)
			f.requestID.offer(r, rankRequestID)
		}
	}
}

// name is a member's name as sent and normalised (see normName).
type name struct{ raw, norm string }

// sortedKeys returns obj's names in a fixed order: by normalised name,
// and among names that differ only in case or punctuation, the all-
// lowercase one first, then lexical order.
func sortedKeys(obj map[string]any) []name {
	names := make([]name, 0, len(obj))
	for k := range obj {
		names = append(names, name{k, normName(k)})
	}
	slices.SortFunc(names, func(a, b name) int {
		if c := strings.Compare(a.norm, b.norm); c != 0 {
			return c
		}
		if la, lb := a.raw == strings.ToLower(a.raw), b.raw == strings.ToLower(b.raw); la != lb {
			if la {
				return -1
			}
			return 1
		}
		return strings.Compare(a.raw, b.raw)
	})
	return names
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
