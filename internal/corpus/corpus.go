// Package corpus loads the corpus of real APIs' error responses in
// internal/apierr/testdata/rejections, for the tests of the decoder, the
// transport, the client and the command line. Each file is one response:
// the API, the case, where the shape is documented or reported, the status,
// headers and body, and what rekey is expected to make of it.
package corpus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// KeyPlaceholder, in a body, stands for the key the client sent, for APIs
// that quote it back; the tests replace it with the key they sent.
const KeyPlaceholder = "{{KEY}}"

// Matchers are the names a case may give in Matcher: the ready-made matcher
// its API needs, built by the tests from package transport.
var Matchers = []string{"", "slack", "aws-api-gateway", "google-maps", "graphql"}

// Causes are the values of Expect.Cause.
var Causes = []string{"unknown", "invalid", "expired", "revoked"}

// Case is one recorded response.
type Case struct {
	File      string            `json:"-"` // base name, without .json
	API       string            `json:"api"`
	Case      string            `json:"case"`
	KeyHeader string            `json:"key_header"` // where the API expects the key
	Source    []string          `json:"source"`     // the API's docs or public reports of this shape
	Notes     string            `json:"notes"`
	Status    int               `json:"status"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	Matcher   string            `json:"matcher"` // "" for the default
	Expect    Expect            `json:"expect"`
}

// Expect is what rekey should make of a case.
type Expect struct {
	Default    bool   `json:"default"`    // recognised by the default matcher
	Recognised bool   `json:"recognised"` // recognised with Matcher (the default if none)
	Code       string `json:"code"`
	Message    string `json:"message"` // with the key replaced by [REDACTED]
	RequestID  string `json:"request_id"`
	Cause      string `json:"cause"` // for a recognised case
}

// Dir is the directory holding the corpus.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "apierr", "testdata", "rejections")
}

// Load reads and checks every case, in file name order.
func Load() ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(Dir(), "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("corpus: no cases in %s", Dir())
	}
	slices.Sort(files)
	cases := make([]Case, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c Case
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("corpus: %s: %v", filepath.Base(f), err)
		}
		c.File = strings.TrimSuffix(filepath.Base(f), ".json")
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("corpus: %s: %v", c.File, err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func (c *Case) check() error {
	switch {
	case c.API == "" || c.Case == "" || c.KeyHeader == "":
		return fmt.Errorf("api, case and key_header are required")
	case len(c.Source) == 0:
		return fmt.Errorf("no source: every shape must cite where it is documented or reported")
	case c.Status < 100 || c.Status > 599:
		return fmt.Errorf("status %d out of range", c.Status)
	case !slices.Contains(Matchers, c.Matcher):
		return fmt.Errorf("matcher %q: want one of %q", c.Matcher, Matchers)
	case !slices.Contains(Causes, c.Expect.Cause):
		return fmt.Errorf("cause %q: want one of %q", c.Expect.Cause, Causes)
	case c.Matcher == "" && c.Expect.Default != c.Expect.Recognised:
		return fmt.Errorf("no matcher named, so default and recognised must agree")
	case !c.Expect.Recognised && c.Expect.Cause != "unknown":
		return fmt.Errorf("a case that is not recognised has no cause")
	}
	for _, s := range c.Source {
		if !strings.HasPrefix(s, "https://") {
			return fmt.Errorf("source %q is not an https URL", s)
		}
	}
	return nil
}

// BodyFor returns the body with the key the client sent in place of
// KeyPlaceholder.
func (c *Case) BodyFor(key string) []byte {
	return []byte(strings.ReplaceAll(c.Body, KeyPlaceholder, key))
}

// Header returns the recorded headers.
func (c *Case) Header() http.Header {
	h := make(http.Header, len(c.Headers))
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	return h
}

// Name is the case's name for a subtest.
func (c *Case) Name() string { return c.File }
