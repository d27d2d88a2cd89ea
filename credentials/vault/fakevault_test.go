package vault_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// fakeVault is a loopback server that follows Vault's documented HTTP API
// for what the Provider and the official client (github.com/hashicorp/vault/api)
// use:
//
//	GET /v1/<mount>/data/<path>[?version=N]  KV v2 read: {"data": {"data": {...}, "metadata": {...}}};
//	                                         404 {"errors": []} when missing, 404 with data null and
//	                                         metadata for a deleted or destroyed version
//	GET /v1/<mount>/metadata/<path>          KV v2 metadata: {"data": {"current_version", "versions", ...}}
//	GET /v1/sys/internal/ui/mounts/<path>    the mount holding path: {"data": {"type", "path", "options": {"version"}}};
//	                                         403 when no mount holds it (as Vault does, to hide what exists)
//
// Every request needs the X-Vault-Token header (403 {"errors": ["permission denied"]}
// otherwise); a sealed server answers 503 {"errors": ["Vault is sealed"]};
// a denied path answers 403 with Vault's multierror body. It counts requests
// by kind, so tests can check exactly what the Provider asked for.
type fakeVault struct {
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	mounts  map[string]string // mount -> KV version ("1" or "2"), or engine type for others
	secrets map[string]*kvSecret
	denied  map[string]bool // API paths (without /v1/) answered 403
	sealed  bool

	dataReads     atomic.Int64 // GET <mount>/data/<path>
	metaReads     atomic.Int64 // GET <mount>/metadata/<path>
	mountReads    atomic.Int64 // GET sys/internal/ui/mounts/...
	requests      atomic.Int64 // all requests
	badTokens     atomic.Int64 // requests without the right token
	versionsAsked sync.Map     // "N" -> count of ?version=N reads

	// hold, if set, is waited on by every data read before it answers.
	hold chan struct{}
}

type kvSecret struct {
	versions []*kvVersion // version i+1 at index i
	custom   map[string]string
	created  time.Time
	updated  time.Time
}

type kvVersion struct {
	data      map[string]any
	created   time.Time
	deleted   time.Time
	destroyed bool
}

const testToken = "hvs.CAESIJ3fakeTokenForTestsOnly0123456789"

func newFakeVault(t testing.TB) *fakeVault {
	t.Helper()
	f := &fakeVault{
		token:   testToken,
		mounts:  map[string]string{"secret": "2", "kv1": "1", "pki": "pki"},
		secrets: map[string]*kvSecret{},
		denied:  map[string]bool{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns an official Vault client for the fake: its address, the
// token, and retries that wait a millisecond instead of a second.
func (f *fakeVault) client(t testing.TB) *api.Client {
	t.Helper()
	conf := api.DefaultConfig()
	conf.Address = f.srv.URL
	conf.MinRetryWait = time.Millisecond
	conf.MaxRetryWait = 2 * time.Millisecond
	c, err := api.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(f.token)
	return c
}

// put writes data as a new version of mount/path, as "vault kv put" does,
// and returns its number.
func (f *fakeVault) put(mountPath string, data map[string]any) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[mountPath]
	now := time.Now().UTC()
	if s == nil {
		s = &kvSecret{created: now}
		f.secrets[mountPath] = s
	}
	s.versions = append(s.versions, &kvVersion{data: data, created: now})
	s.updated = now
	return len(s.versions)
}

// deleteLatest soft-deletes the latest version ("vault kv delete").
func (f *fakeVault) deleteLatest(mountPath string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[mountPath]
	s.versions[len(s.versions)-1].deleted = time.Now().UTC()
}

// scheduleDeletion sets a future deletion_time on the latest version, as
// a mount's delete_version_after does.
func (f *fakeVault) scheduleDeletion(mountPath string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[mountPath]
	s.versions[len(s.versions)-1].deleted = at.UTC()
}

// destroyLatest destroys the latest version ("vault kv destroy").
func (f *fakeVault) destroyLatest(mountPath string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[mountPath]
	s.versions[len(s.versions)-1].destroyed = true
}

func (f *fakeVault) setCustomMetadata(mountPath string, md map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[mountPath].custom = md
}

func (f *fakeVault) setSealed(sealed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sealed = sealed
}

func (f *fakeVault) deny(apiPath string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denied[apiPath] = true
}

func (f *fakeVault) versionReads(n int) int64 {
	v, ok := f.versionsAsked.Load(strconv.Itoa(n))
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (f *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if r.Header.Get("X-Vault-Token") != f.token {
		f.badTokens.Add(1)
		writeErrors(w, http.StatusForbidden, "permission denied")
		return
	}
	f.mu.Lock()
	sealed := f.sealed
	f.mu.Unlock()
	if sealed {
		writeErrors(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	if r.Method != http.MethodGet {
		writeErrors(w, http.StatusMethodNotAllowed, "1 error occurred:\n\t* unsupported operation\n\n")
		return
	}
	apiPath := strings.TrimPrefix(r.URL.Path, "/v1/")
	if rest, ok := strings.CutPrefix(apiPath, "sys/internal/ui/mounts/"); ok {
		f.mountReads.Add(1)
		f.serveMount(w, rest)
		return
	}
	f.mu.Lock()
	denied := f.denied[apiPath]
	f.mu.Unlock()
	mount, rest, _ := strings.Cut(apiPath, "/")
	f.mu.Lock()
	kind, mounted := f.mounts[mount]
	f.mu.Unlock()
	switch {
	case !mounted:
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", apiPath))
		return
	case denied:
		writeErrors(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
		return
	case kind != "2":
		// A KV v1 mount reads "data/<path>" as a secret of that name: there is none.
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
		return
	}
	op, path, _ := strings.Cut(rest, "/")
	switch op {
	case "data":
		f.dataReads.Add(1)
		if h := f.hold; h != nil {
			<-h
		}
		f.serveData(w, r, mount+"/"+path)
	case "metadata":
		f.metaReads.Add(1)
		f.serveMetadata(w, mount+"/"+path)
	default:
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", apiPath))
	}
}

func (f *fakeVault) serveData(w http.ResponseWriter, r *http.Request, mountPath string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[mountPath]
	if s == nil || len(s.versions) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
		return
	}
	n := len(s.versions)
	if q := r.URL.Query().Get("version"); q != "" {
		c, _ := f.versionsAsked.LoadOrStore(q, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		v, err := strconv.Atoi(q)
		if err != nil || v < 0 {
			writeErrors(w, http.StatusBadRequest, "invalid version")
			return
		}
		if v > 0 {
			n = v
		}
	}
	if n > len(s.versions) {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
		return
	}
	v := s.versions[n-1]
	md := map[string]any{
		"created_time":    v.created.Format(time.RFC3339Nano),
		"custom_metadata": customOrNil(s.custom),
		"deletion_time":   timeOrEmpty(v.deleted),
		"destroyed":       v.destroyed,
		"version":         n,
	}
	// A deletion_time in the future is delete_version_after at work: the
	// version is still readable until then.
	if v.destroyed || (!v.deleted.IsZero() && !v.deleted.After(time.Now())) {
		writeJSON(w, http.StatusNotFound, envelope(map[string]any{"data": nil, "metadata": md}))
		return
	}
	writeJSON(w, http.StatusOK, envelope(map[string]any{"data": v.data, "metadata": md}))
}

func (f *fakeVault) serveMetadata(w http.ResponseWriter, mountPath string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[mountPath]
	if s == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
		return
	}
	versions := map[string]any{}
	for i, v := range s.versions {
		versions[strconv.Itoa(i+1)] = map[string]any{
			"created_time":  v.created.Format(time.RFC3339Nano),
			"deletion_time": timeOrEmpty(v.deleted),
			"destroyed":     v.destroyed,
		}
	}
	writeJSON(w, http.StatusOK, envelope(map[string]any{
		"cas_required":         false,
		"created_time":         s.created.Format(time.RFC3339Nano),
		"current_version":      len(s.versions),
		"custom_metadata":      customOrNil(s.custom),
		"delete_version_after": "0s",
		"max_versions":         0,
		"oldest_version":       0,
		"updated_time":         s.updated.Format(time.RFC3339Nano),
		"versions":             versions,
	}))
}

func (f *fakeVault) serveMount(w http.ResponseWriter, path string) {
	mount, _, _ := strings.Cut(path, "/")
	f.mu.Lock()
	kind, ok := f.mounts[mount]
	f.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusForbidden, fmt.Sprintf("preflight capability check returned 403, please ensure client's policies grant access to path %q", path+"/"))
		return
	}
	info := map[string]any{"path": mount + "/", "type": kind, "options": nil, "description": "", "local": false, "seal_wrap": false}
	if kind == "1" || kind == "2" {
		info["type"] = "kv"
		info["options"] = map[string]any{"version": kind}
	}
	writeJSON(w, http.StatusOK, envelope(info))
}

func envelope(data any) map[string]any {
	return map[string]any{
		"request_id": "6c1b2f3e-0000-4000-8000-000000000000", "lease_id": "", "renewable": false,
		"lease_duration": 0, "data": data, "wrap_info": nil, "warnings": nil, "auth": nil, "mount_type": "kv",
	}
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client sees a short body
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func customOrNil(m map[string]string) any {
	if m == nil {
		return nil
	}
	return m
}
