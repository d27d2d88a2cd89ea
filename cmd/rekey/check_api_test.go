package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/internal/corpus"
)

const (
	presetValidKey   = "rk_live_PRESETVALID00000000000000001"
	presetRevokedKey = "rk_live_PRESETREVOKED000000000000002"
)

// presetAPI is a loopback server answering as one API does: the documented
// success answer to the documented request made with the valid key, and the
// corpus's recorded rejection to anything else.
type presetAPI struct {
	w      wire
	reject corpus.Case

	mu       sync.Mutex
	requests int
	mismatch string // why the last request was not the valid one
}

func (a *presetAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key, why := a.check(r, string(body))
	a.mu.Lock()
	a.requests++
	a.mismatch = why
	a.mu.Unlock()
	if why == "" && key == presetValidKey {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, a.w.answer)
		return
	}
	for k, v := range a.reject.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.reject.Status)
	w.Write(a.reject.BodyFor(key))
}

// check returns the key the request carries where the wire spec says, or
// why the request is not the one documented.
func (a *presetAPI) check(r *http.Request, body string) (key, why string) {
	q := r.URL.Query()
	spec := a.w.key
	switch {
	case strings.HasPrefix(spec, "query "):
		name := strings.TrimPrefix(spec, "query ")
		key = q.Get(name)
		q.Del(name)
	case strings.HasPrefix(spec, "basic "):
		user, password, ok := r.BasicAuth()
		wantUser, _, _ := strings.Cut(strings.TrimPrefix(spec, "basic "), ":KEY")
		switch {
		case !ok:
			return "", "no Basic auth"
		case spec == "basic KEY:":
			if password != "" {
				return "", "Basic password not empty"
			}
			key = user
		case user != wantUser:
			return "", fmt.Sprintf("Basic user %q, want %q", user, wantUser)
		default:
			key = password
		}
	default:
		name, tmpl, _ := strings.Cut(spec, ": ")
		v := r.Header.Get(name)
		prefix := strings.TrimSuffix(tmpl, "KEY")
		if !strings.HasPrefix(v, prefix) {
			return "", fmt.Sprintf("header %s = %q, want %q", name, v, tmpl)
		}
		key = strings.TrimPrefix(v, prefix)
		if name != "Authorization" && r.Header.Get("Authorization") != "" {
			return key, "Authorization sent as well"
		}
	}
	line := r.Method + " " + r.URL.Path
	if len(q) > 0 {
		line += "?" + q.Encode()
	}
	switch {
	case line != a.w.request:
		return key, fmt.Sprintf("request %q, want %q", line, a.w.request)
	case body != a.w.body:
		return key, fmt.Sprintf("body %q, want %q", body, a.w.body)
	case a.w.header != "":
		name, value, _ := strings.Cut(a.w.header, ": ")
		if got := r.Header.Get(name); got != value {
			return key, fmt.Sprintf("header %s = %q, want %q", name, got, value)
		}
	}
	return key, ""
}

// runPreset runs rekey check --api against a, with key in the environment.
func runPreset(t *testing.T, p apiPreset, a *presetAPI, key string) (code int, stdout, stderr string) {
	t.Helper()
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	t.Setenv("REKEY_CHECK_KEY", key)
	args := append([]string{"check", "--api", p.Name, "--key-env", "REKEY_CHECK_KEY", "--base-url", srv.URL}, a.w.args...)
	code, stdout, stderr = runCmd(t, args...)
	out := stdout + stderr
	for _, k := range []string{presetValidKey, presetRevokedKey} {
		assertNoKeys(t, out, k)
		for _, user := range []string{"", "api", "anystring", "you@example.com", "you@example.com/token", "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"} {
			pair := user + ":" + k
			if user == "" {
				pair = k + ":"
			}
			assertNoKeys(t, out, strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(pair)), "="))
		}
	}
	return code, stdout, stderr
}

// TestCheckAPI runs every preset against a loopback server answering as
// that API does: the valid key gets the documented success answer (exit 0,
// "valid"), and a revoked key each of the corpus's recorded responses for
// that API, so that the verdict and the cause come from the real shapes.
// The key appears in no output, in any encoding.
func TestCheckAPI(t *testing.T) {
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	causes := map[string]rekey.KeyCause{"unknown": rekey.CauseUnknown, "invalid": rekey.CauseInvalid, "expired": rekey.CauseExpired, "revoked": rekey.CauseRevoked}
	var checked int
	for _, p := range apiPresets {
		t.Run(p.Name, func(t *testing.T) {
			w, ok := presetWire[p.Name]
			if !ok {
				t.Fatalf("no wire spec for %s in presetWire", p.Name)
			}
			var rejections []corpus.Case
			for _, c := range cases {
				if slices.Contains(p.Corpus, c.API) {
					rejections = append(rejections, c)
				}
			}
			if len(rejections) == 0 {
				t.Fatalf("no corpus case for %q", p.Corpus)
			}

			a := &presetAPI{w: w, reject: rejections[0]}
			code, stdout, stderr := runPreset(t, p, a, presetValidKey)
			if code != exitOK || stdout != "valid\n" || !strings.Contains(stderr, "answered 200 OK") {
				t.Errorf("valid key: exit %d, stdout %q, stderr %q; want exit 0, valid (server: %s)", code, stdout, stderr, a.mismatch)
			}
			if a.requests != 1 {
				t.Errorf("valid key: %d requests, want 1", a.requests)
			}

			for _, c := range rejections {
				t.Run(c.Name(), func(t *testing.T) {
					a := &presetAPI{w: w, reject: c}
					code, stdout, stderr := runPreset(t, p, a, presetRevokedKey)
					if a.mismatch != "" {
						t.Errorf("the revoked key's request was not the documented one: %s", a.mismatch)
					}
					checked++
					switch {
					case c.Expect.Recognised || w.rejects == c.Status:
						msg := c.Expect.Message
						if msg == "" {
							msg = c.Expect.Code
						}
						cause := "cause: " + causeText(causes[c.Expect.Cause])
						if code != exitFailed || stdout != "invalid: "+msg+"\n" || !strings.Contains(stderr, cause) {
							t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, %q, %q", code, stdout, stderr, "invalid: "+msg, cause)
						}
					case c.Status < 300:
						if code != exitOK || stdout != "valid\n" {
							t.Errorf("exit %d, stdout %q; want a 2xx that is not a rejection to be valid", code, stdout)
						}
					default:
						if code != exitTrouble || stdout != "" || !strings.Contains(stderr, "could not check the key") {
							t.Errorf("exit %d, stdout %q, stderr %q; want exit 3, could not check", code, stdout, stderr)
						}
						if hint := "may be valid but not allowed to make this request"; (c.Status == 401 || c.Status == 403) != strings.Contains(stderr, hint) {
							t.Errorf("stderr %q: the hint %q belongs to a 401 or 403 that is not a rejection, and only to those", stderr, hint)
						}
					}
				})
			}
		})
	}
	t.Logf("%d presets, %d corpus responses checked through them", len(apiPresets), checked)
}

// TestAPIPresetsMatchCorpus keeps the presets and the corpus in step: every
// preset checks APIs the corpus holds and uses the matcher the corpus names
// for them, and every API of the corpus has a preset or a reason for none.
func TestAPIPresetsMatchCorpus(t *testing.T) {
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	matchers := map[string]map[string]bool{} // api -> matchers its cases name
	for _, c := range cases {
		if matchers[c.API] == nil {
			matchers[c.API] = map[string]bool{}
		}
		if c.Matcher != "" {
			matchers[c.API][c.Matcher] = true
		}
	}
	name := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	covered := map[string]string{}
	for _, p := range apiPresets {
		if !name.MatchString(p.Name) {
			t.Errorf("preset name %q: want lower case letters, digits and dashes", p.Name)
		}
		if q, _ := findPreset(p.Name); q.Doc != p.Doc {
			t.Errorf("preset %s is defined twice", p.Name)
		}
		if !strings.HasPrefix(p.Doc, "https://") || !strings.HasPrefix(p.Base, "https://") || !strings.HasPrefix(p.Path, "/") {
			t.Errorf("preset %s: want an https Doc and Base and an absolute Path", p.Name)
		}
		if strings.Contains(p.Path, "{user}") && p.NeedsUser == "" {
			t.Errorf("preset %s: {user} in the path needs NeedsUser", p.Name)
		}
		if p.Method != "" && p.Method != http.MethodPost {
			t.Errorf("preset %s: method %s; a check is a GET or a read-only POST", p.Name, p.Method)
		}
		if len(p.Corpus) == 0 {
			t.Errorf("preset %s checks no corpus API", p.Name)
		}
		for _, api := range p.Corpus {
			ms, ok := matchers[api]
			switch {
			case !ok:
				t.Errorf("preset %s: %q is not an api of the corpus", p.Name, api)
			case covered[api] != "":
				t.Errorf("preset %s: %q is already checked by %s", p.Name, api, covered[api])
			case len(ms) > 1 || (len(ms) == 1 && !ms[p.Matcher]) || (len(ms) == 0 && p.Matcher != ""):
				t.Errorf("preset %s: matcher %q, but the corpus names %v for %q", p.Name, p.Matcher, ms, api)
			}
			covered[api] = p.Name
		}
	}
	for api, reason := range apisWithoutPreset {
		if _, ok := matchers[api]; !ok {
			t.Errorf("apisWithoutPreset: %q is not an api of the corpus", api)
		}
		if covered[api] != "" {
			t.Errorf("apisWithoutPreset: %q has a preset, %s", api, covered[api])
		}
		if reason == "" {
			t.Errorf("apisWithoutPreset: %q needs a reason", api)
		}
	}
	for api := range matchers {
		if _, ok := apisWithoutPreset[api]; !ok && covered[api] == "" {
			t.Errorf("corpus api %q has neither a preset nor a reason in apisWithoutPreset", api)
		}
	}
	for name := range presetWire {
		if _, ok := findPreset(name); !ok {
			t.Errorf("presetWire: %q is not a preset", name)
		}
	}
	t.Logf("corpus: %d responses from %d APIs; %d presets check %d of them, %d have none",
		len(cases), len(matchers), len(apiPresets), len(covered), len(apisWithoutPreset))
}

// TestCommandDocListsPresets keeps docs/command.md and the README in step
// with the presets: every preset with its request and source, every API
// without one with its reason, and the README's count.
func TestCommandDocListsPresets(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "command.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range apiPresets {
		row := fmt.Sprintf("| `%s` | `%s %s%s` | `%s` |", p.Name, p.method(), strings.TrimPrefix(p.Base, "https://"),
			strings.ReplaceAll(p.Path, "{user}", "USER"), p.placement())
		if !bytes.Contains(doc, []byte(row)) || !bytes.Contains(doc, []byte("("+p.Doc+")")) {
			t.Errorf("docs/command.md lacks the row %q with its source %s", row, p.Doc)
		}
	}
	for api, reason := range apisWithoutPreset {
		if !bytes.Contains(doc, []byte("| "+api+" | "+reason+" |")) {
			t.Errorf("docs/command.md lacks %q and why it has no preset", api)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d APIs known", len(apiPresets)); !bytes.Contains(readme, []byte(want)) {
		t.Errorf("README.md lacks %q", want)
	}
}
