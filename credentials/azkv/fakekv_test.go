package azkv_test

// A loopback Azure Key Vault (the secrets data plane) over TLS, following
// the service's documented REST API, for what the Provider and the official
// client (azsecrets) use:
//
//	GET   /secrets/{name}[/{version}]?api-version=...  Get Secret: the SecretBundle
//	      {"value", "id", "contentType", "tags", "attributes": {"enabled", "nbf", "exp",
//	      "created", "updated", "recoveryLevel", "recoverableDays"}}; no version: the newest
//	GET   /secrets/{name}/versions?api-version=...[&maxresults=n]
//	      Get Secret Versions: {"value": [SecretItem...], "nextLink": ...}, each item the
//	      bundle without its value; see fakekv_list_test.go
//	PUT   /secrets/{name}?api-version=...               Set Secret: a new version, which becomes the current one
//	PATCH /secrets/{name}/{version}?api-version=...     Update Secret: attributes, tags, content type
//
// (https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret,
// .../get-secret-versions/get-secret-versions, .../set-secret,
// .../update-secret), with times in Unix seconds. Versions are created one
// minute apart on the fake's clock, which starts two days ago, so that
// "newest" is never a tie unless a test makes one; their IDs are 32
// hexadecimal characters in no order, like Key Vault's.
//
// Authentication is Key Vault's bearer challenge
// (https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses):
// a request without a token is answered 401 with
//
//	WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"
//
// and the client asks its TokenCredential for a token and sends the request
// again; a token the vault does not accept is answered 401 with the same
// challenge. Errors are Key Vault's JSON bodies,
// {"error": {"code", "message", "innererror": {"code"}}}, with an
// x-ms-request-id header (https://learn.microsoft.com/azure/key-vault/general/rest-error-codes):
// 404 SecretNotFound, 403 Forbidden (inner codes ForbiddenByRbac,
// AccessDenied, ForbiddenByFirewall, SecretDisabled, SecretExpired), 429
// Throttled with Retry-After
// (https://learn.microsoft.com/azure/key-vault/general/overview-throttling).
// The messages are those Key Vault sends, with made-up identities.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	fakeTenant    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	fakeChallenge = `Bearer authorization="https://login.microsoftonline.com/` + fakeTenant + `", resource="https://vault.azure.net"`
	// testToken is the access token the vault accepts; it must never show
	// up in an error or a log either.
	testToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-access-token-for-tests.c2lnbmF0dXJl"
)

type kvVersion struct {
	id          string
	value       string
	contentType string
	tags        map[string]string
	enabled     bool
	exp         time.Time // zero: none
	nbf         time.Time // not before; zero: none
	created     time.Time
	updated     time.Time
}

// fakeKV is the fake vault. Tests drive it through the official client
// (the Provider's reads, an operator's SetSecret and UpdateSecretProperties)
// and through its Go methods (faults, and setup).
type fakeKV struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	secrets    map[string][]*kvVersion // versions in creation order; the last is the current one
	deny       map[string]string       // secret -> inner code of the 403 to answer
	denyList   map[string]string       // secret -> inner code of the 403 to answer listings only
	expired403 bool                    // answer a read of an expired version 403 SecretExpired instead of 200
	throttle   int                     // answer the next n authorized requests 429
	retryAfter string                  // the Retry-After of those answers
	garbage    bool                    // answer reads 200 with a body that is not JSON
	endless    bool                    // give every page of a listing a nextLink, as a broken server would
	seq        int
	clock      time.Time // the time of the last version created or updated

	reads      map[string]int // authorized GETs of a secret's value, by name (errors included)
	pages      map[string]int // authorized GETs of a page of a secret's versions, by name (errors included)
	versionsOf map[string]int // authorized GETs answered with each version
	writes     int            // authorized PUT and PATCH requests
	challenges int            // requests without a token, answered with the challenge
	badTokens  int            // requests with a token the vault refused
	requests   int
}

func newFakeKV(t testing.TB) *fakeKV {
	f := &fakeKV{t: t, secrets: map[string][]*kvVersion{}, deny: map[string]string{}, denyList: map[string]string{},
		reads: map[string]int{}, pages: map[string]int{}, versionsOf: map[string]int{},
		clock: time.Now().Add(-48 * time.Hour).Truncate(time.Second)}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Set stores value as a new version of name, which becomes the current one,
// and returns the version's ID. mods adjust the version before it is stored.
func (f *fakeKV) Set(name, value string, mods ...func(*kvVersion)) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set(name, value, mods...)
}

func (f *fakeKV) set(name, value string, mods ...func(*kvVersion)) string {
	f.seq++
	sum := sha256.Sum256([]byte(fmt.Sprint("version ", f.seq)))
	now := f.tick()
	v := &kvVersion{id: hex.EncodeToString(sum[:16]), value: value, enabled: true, created: now, updated: now}
	for _, m := range mods {
		m(v)
	}
	f.secrets[name] = append(f.secrets[name], v)
	return v.id
}

// tick advances the fake's clock by a minute and returns it: the time of
// a version created or updated now.
func (f *fakeKV) tick() time.Time {
	f.clock = f.clock.Add(time.Minute)
	return f.clock
}

// Delete removes a secret, as DeleteSecret does (reads then answer 404).
func (f *fakeKV) Delete(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.secrets, name)
}

// Deny answers reads of name 403 Forbidden with the given inner code:
// "ForbiddenByRbac", "AccessDenied" or "ForbiddenByFirewall".
func (f *fakeKV) Deny(name, inner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[name] = inner
}

// DenyList answers listings of name's versions 403 Forbidden with the
// given inner code, and reads of its values as usual: an identity with the
// Get permission but not List ("AccessDenied"), or with a custom role that
// has getSecret but not readMetadata ("ForbiddenByRbac").
func (f *fakeKV) DenyList(name, inner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denyList[name] = inner
}

// Throttle answers the next n authorized requests 429 Throttled, with
// Retry-After: retryAfter (seconds).
func (f *fakeKV) Throttle(n int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle, f.retryAfter = n, retryAfter
}

// Reads returns the number of authorized GETs of name's value.
func (f *fakeKV) Reads(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads[name]
}

// Pages returns the number of authorized GETs of a page of name's
// versions.
func (f *fakeKV) Pages(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pages[name]
}

// ReadsOf returns the number of successful GETs answered with version id.
func (f *fakeKV) ReadsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.versionsOf[id]
}

// Counts returns the challenges answered, the tokens refused and all requests.
func (f *fakeKV) Counts() (challenges, badTokens, requests int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.challenges, f.badTokens, f.requests
}

func (f *fakeKV) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.seq++
	w.Header().Set("x-ms-request-id", fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", f.seq))
	w.Header().Set("x-ms-keyvault-service-version", "1.9.2000.1")
	if r.URL.Query().Get("api-version") == "" {
		f.fail(w, http.StatusBadRequest, "BadParameter", "", "The api-version query parameter is missing.")
		return
	}
	// The bearer challenge.
	auth := r.Header.Get("Authorization")
	if auth == "" {
		f.challenges++
		w.Header().Set("WWW-Authenticate", fakeChallenge)
		f.fail(w, http.StatusUnauthorized, "Unauthorized", "", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	if auth != "Bearer "+testToken {
		f.badTokens++
		w.Header().Set("WWW-Authenticate", fakeChallenge)
		f.fail(w, http.StatusUnauthorized, "Unauthorized", "", "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/"+fakeTenant+"/, found https://sts.windows.net/00000000-0000-0000-0000-000000000000/.")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "secrets" {
		f.t.Errorf("fake Key Vault: unexpected %s %s", r.Method, r.URL.Path)
		f.fail(w, http.StatusNotFound, "NotFound", "", "The requested resource was not found.")
		return
	}
	name, version := parts[1], ""
	if len(parts) == 3 {
		version = parts[2]
	}
	listing := version == "versions" && r.Method == http.MethodGet // no version ID is "versions": they are hexadecimal
	switch {
	case listing:
		f.pages[name]++
	case r.Method == http.MethodGet:
		f.reads[name]++
	default:
		f.writes++
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", f.retryAfter)
		f.fail(w, http.StatusTooManyRequests, "Throttled", "",
			"Request was not processed because too many requests were received. Reason: A generic throttling error. Please retry after the time specified in the Retry-After response header.")
		return
	}
	if inner, ok := f.deny[name]; ok {
		f.forbidden(w, name, inner, listing)
		return
	}
	if inner, ok := f.denyList[name]; ok && listing {
		f.forbidden(w, name, inner, true)
		return
	}
	switch {
	case listing:
		f.list(w, r, name)
	case r.Method == http.MethodGet:
		f.get(w, name, version)
	case r.Method == http.MethodPut:
		f.put(w, r, name, version)
	case r.Method == http.MethodPatch:
		f.patch(w, r, name, version)
	default:
		f.fail(w, http.StatusMethodNotAllowed, "BadParameter", "", "The method is not allowed.")
	}
}

func (f *fakeKV) find(w http.ResponseWriter, name, version string) *kvVersion {
	vs := f.secrets[name]
	if len(vs) == 0 {
		f.fail(w, http.StatusNotFound, "SecretNotFound", "", "A secret with (name/id) "+name+" was not found in this key vault. "+
			"If you recently deleted this secret you may be able to recover it using the correct recovery command. "+
			"For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182")
		return nil
	}
	if version == "" {
		return vs[len(vs)-1]
	}
	for _, v := range vs {
		if v.id == version {
			return v
		}
	}
	f.fail(w, http.StatusNotFound, "SecretNotFound", "", "A secret with (name/id) "+name+"/"+version+" was not found in this key vault. "+
		"If you recently deleted this secret you may be able to recover it using the correct recovery command. "+
		"For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182")
	return nil
}

func (f *fakeKV) get(w http.ResponseWriter, name, version string) {
	v := f.find(w, name, version)
	if v == nil {
		return
	}
	if !v.enabled {
		f.fail(w, http.StatusForbidden, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
		return
	}
	if f.expired403 && !v.exp.IsZero() && !v.exp.After(time.Now()) {
		f.fail(w, http.StatusForbidden, "Forbidden", "SecretExpired", "Operation get is not allowed on a expired secret.")
		return
	}
	f.versionsOf[v.id]++
	if f.garbage {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"value":%s,"id":"%s"}`, v.value, f.id(name, v.id)) // the value unquoted: not JSON
		return
	}
	f.reply(w, f.bundle(name, v, true))
}

func (f *fakeKV) versionByID(name, id string) *kvVersion {
	for _, v := range f.secrets[name] {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (f *fakeKV) id(name, version string) string {
	return f.srv.URL + "/secrets/" + name + "/" + version
}

func (f *fakeKV) bundle(name string, v *kvVersion, withValue bool) map[string]any {
	attrs := map[string]any{"enabled": v.enabled, "created": v.created.Unix(), "updated": v.updated.Unix(),
		"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
	if !v.exp.IsZero() {
		attrs["exp"] = v.exp.Unix()
	}
	if !v.nbf.IsZero() {
		attrs["nbf"] = v.nbf.Unix()
	}
	out := map[string]any{"id": f.id(name, v.id), "attributes": attrs}
	if withValue {
		out["value"] = v.value
	}
	if v.contentType != "" {
		out["contentType"] = v.contentType
	}
	if len(v.tags) > 0 {
		out["tags"] = v.tags
	}
	return out
}

// forbidden answers 403 with the message Key Vault sends for each cause,
// for a read of a value or a listing of versions.
func (f *fakeKV) forbidden(w http.ResponseWriter, name, inner string, listing bool) {
	action, permission := "getSecret/action", "get"
	if listing {
		action, permission = "readMetadata/action", "list"
	}
	const caller = "appid=1950a258-227b-4e31-a9cf-717495945fc2;oid=3975aeed-7d08-453b-b6f4-445f32698091;iss=https://sts.windows.net/" + fakeTenant + "/"
	var msg string
	switch inner {
	case "ForbiddenByRbac":
		msg = "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
			"Caller: " + caller + "\r\nAction: 'Microsoft.KeyVault/vaults/secrets/" + action + "'\r\n" +
			"Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-prod/providers/microsoft.keyvault/vaults/prod-kv/secrets/" + name + "'\r\n" +
			"Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: prod-kv;location=westeurope\r\n"
	case "AccessDenied":
		msg = "The user, group or application '" + caller + "' does not have secrets " + permission + " permission on key vault 'prod-kv;location=westeurope'. " +
			"For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
	case "ForbiddenByFirewall":
		msg = "Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7\r\nCaller: " + caller + "\r\nVault: prod-kv;location=westeurope"
	}
	f.fail(w, http.StatusForbidden, "Forbidden", inner, msg)
}

func (f *fakeKV) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client sees a short body
}

func (f *fakeKV) fail(w http.ResponseWriter, status int, code, inner, msg string) {
	body := map[string]any{"code": code, "message": msg}
	if inner != "" {
		body["innererror"] = map[string]string{"code": inner}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": body}) //nolint:errcheck
}
