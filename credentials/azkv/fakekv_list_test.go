package azkv_test

// The fake vault's listing of a secret's versions, as Key Vault's REST API
// documents Get Secret Versions
// (https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret-versions/get-secret-versions):
//
//	GET {vault}/secrets/{name}/versions?api-version=...[&maxresults=n]
//
// maxresults is 1 to 25, 25 when absent ("If not specified, the service
// will return up to 25 results"). The answer is a page,
//
//	{"value": [{"id", "contentType", "tags", "attributes": {...}}, ...], "nextLink": "..."}
//
// each item a SecretItem: the version's identifier, attributes, content
// type and tags, never its value ("No values are returned for the
// secrets"). nextLink is absolute, carries the api-version, an opaque
// $skiptoken and the maxresults of the first request, as in the documented
// sample, and is null on the last page. Key Vault lists versions in an
// order that is stable but not chronological (Azure/azure-sdk-for-python#35923):
// the fake lists them by ID, which is random. A secret that does not exist
// lists no version: one empty page (Get-AzKeyVaultSecret -IncludeVersions
// "returns nothing" for it, Azure/azure-powershell#14823).

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const maxPageSize = 25

// list answers one page of name's versions.
func (f *fakeKV) list(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	size := maxPageSize
	if m := q.Get("maxresults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > maxPageSize {
			f.fail(w, http.StatusBadRequest, "BadParameter", "", "Invalid value for maxresults: it must be between 1 and 25.")
			return
		}
		size = n
	}
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		var err error
		if start, err = decodeSkipToken(tok); err != nil {
			f.fail(w, http.StatusBadRequest, "BadParameter", "", "The $skiptoken is not valid.")
			return
		}
	}
	vs := f.listOrder(name)
	if start > len(vs) {
		start = len(vs)
	}
	end := min(start+size, len(vs))
	items := make([]map[string]any, 0, end-start)
	for _, v := range vs[start:end] {
		items = append(items, f.bundle(name, v, false))
	}
	var next any // null on the last page
	if end < len(vs) || f.endless {
		// As in the documented sample: ?api-version=7.4&$skiptoken=eyJOZXh0...&maxresults=1
		link := f.srv.URL + "/secrets/" + name + "/versions?api-version=" + url.QueryEscape(q.Get("api-version")) +
			"&$skiptoken=" + encodeSkipToken(end)
		if q.Get("maxresults") != "" {
			link += "&maxresults=" + strconv.Itoa(size)
		}
		next = link
	}
	f.reply(w, map[string]any{"value": items, "nextLink": next})
}

// listOrder is the order in which the fake lists name's versions: by ID,
// not by creation.
func (f *fakeKV) listOrder(name string) []*kvVersion {
	vs := append([]*kvVersion(nil), f.secrets[name]...)
	sort.Slice(vs, func(i, j int) bool { return vs[i].id < vs[j].id })
	return vs
}

// ListOrder returns the IDs of name's versions in the order the fake
// lists them.
func (f *fakeKV) ListOrder(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, v := range f.listOrder(name) {
		ids = append(ids, v.id)
	}
	return ids
}

// skipToken is the opaque continuation in a next link, shaped like Key
// Vault's (base64 of a small JSON object).
type skipToken struct {
	NextMarker     string `json:"NextMarker"`
	TargetLocation int    `json:"TargetLocation"`
}

func encodeSkipToken(offset int) string {
	b, _ := json.Marshal(skipToken{NextMarker: strconv.Itoa(offset)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkipToken(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	var t skipToken
	if err := json.Unmarshal(b, &t); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(t.NextMarker)
	if err != nil || n < 0 {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}

// The fake's listing follows the documented shape when asked directly over
// HTTP, maxresults included, which the official client does not send: 60
// versions at 10 to a page are 6 pages linked by nextLink, none with a
// value; maxresults outside 1 to 25 is refused.
func TestFakeListsVersionsAsDocumented(t *testing.T) {
	f := newFakeKV(t)
	values := map[string]bool{}
	for range 60 {
		k := newKey()
		values[k] = true
		f.Set("s", k)
	}
	get := func(u string) (int, map[string]json.RawMessage) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	seen := map[string]bool{}
	pages := 0
	for u := f.srv.URL + "/secrets/s/versions?api-version=7.6&maxresults=10"; u != ""; pages++ {
		status, body := get(u)
		if status != http.StatusOK {
			t.Fatalf("page %d: status %d", pages, status)
		}
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(body["value"], &items); err != nil || len(items) != 10 {
			t.Fatalf("page %d: %d items (%v); want 10", pages, len(items), err)
		}
		for _, it := range items {
			if _, ok := it["value"]; ok {
				t.Fatalf("page %d lists a value", pages)
			}
			var id string
			json.Unmarshal(it["id"], &id) //nolint:errcheck // checked below
			seen[id] = true
		}
		u = ""
		if string(body["nextLink"]) != "null" {
			json.Unmarshal(body["nextLink"], &u) //nolint:errcheck
			if !strings.Contains(u, "api-version=7.6") || !strings.Contains(u, "maxresults=10") || !strings.Contains(u, "&$skiptoken=") {
				t.Fatalf("nextLink %q lacks the api-version, maxresults or $skiptoken", u)
			}
		}
	}
	if pages != 6 || len(seen) != 60 {
		t.Errorf("%d pages, %d distinct versions; want 6 and 60", pages, len(seen))
	}
	for _, bad := range []string{"0", "26", "x"} {
		if status, _ := get(f.srv.URL + "/secrets/s/versions?api-version=7.6&maxresults=" + bad); status != http.StatusBadRequest {
			t.Errorf("maxresults=%s: status %d, want 400", bad, status)
		}
	}
	if n := f.Reads("s"); n != 0 {
		t.Errorf("%d reads of a value, want none", n)
	}
}
