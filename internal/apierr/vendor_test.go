package apierr_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/rekeyhq/rekey/internal/corpus"
)

// The decoder reads errors by their structure and the names of their
// fields, never by which API sent them. TestNoVendorNamesInTheDecoder keeps
// it so: no API named in the corpus may appear in the non-test Go files of
// this package, in code or in comments. Comments citing an example would
// be harmless, but this test decides against them, so that a rule
// written for one vendor cannot hide behind its comment. Standard names
// are allowed: google.rpc.ErrorInfo and its kin name a published standard
// (AIP-193), not a vendor's habit.
func TestNoVendorNamesInTheDecoder(t *testing.T) {
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range cases {
		names[c.API] = true
	}
	brands := vendorWords(names)
	if len(brands) < 50 {
		t.Fatalf("only %d vendor words from %d API names: the word list is broken", len(brands), len(names))
	}
	if got := vendorWordsIn("// a fix for Stripe's errors\nvar hubSpotCode = 1", brands); len(got) != 2 {
		t.Fatalf("the scanner found %v in a text naming Stripe and HubSpot: it cannot fail", got)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scanned++
		for i, line := range strings.Split(string(b), "\n") {
			for _, w := range vendorWordsIn(line, brands) {
				t.Errorf("%s:%d names %q: %s", f, i+1, w, strings.TrimSpace(line))
			}
		}
	}
	if scanned < 5 {
		t.Fatalf("scanned %d files", scanned)
	}
}

// commonWords are vendor names that are also English words: only their
// capitalised spelling counts ("Square", not "square").
var commonWords = map[string]bool{
	"here": true, "plain": true, "square": true, "notion": true, "zoom": true, "resend": true,
	"sentry": true, "cohere": true, "slack": true, "paddle": true, "perplexity": true,
	"octopus": true, "relic": true, "telegram": true, "twitch": true, "mistral": true,
	"elastic": true, "kraken": true,
}

// genericWords in API names are not vendors: "Google Gemini API" is
// Google and Gemini.
var genericWords = map[string]bool{
	"api": true, "apis": true, "rest": true, "web": true, "admin": true, "platform": true,
	"services": true, "service": true, "cloud": true, "maps": true, "graph": true, "graphql": true,
	"storage": true, "management": true, "gateway": true, "keys": true, "key": true,
	"identity": true, "toolkit": true, "auth": true, "token": true, "data": true, "bot": true,
	"content": true, "marketing": true, "billing": true, "inference": true, "location": true,
	"query": true, "proxies": true, "verifyapikey": true, "manager": true, "server": true,
	"energy": true, "helix": true, "blob": true, "block": true, "page": true, "real": true,
	"run": true, "for": true, "the": true, "and": true, "of": true, "in": true, "v": true,
	"x": true, "iam": true, "news": true, "crm": true, "new": true, "open": true, "ai": true,
	"nerdgraph": true, "hugging": true, "face": true,
}

var wordRE = regexp.MustCompile(`[A-Za-z]+`)

// vendorWords returns the distinctive words of the API names.
func vendorWords(names map[string]bool) map[string]bool {
	out := map[string]bool{}
	for n := range names {
		for _, w := range wordRE.FindAllString(n, -1) {
			if !genericWords[strings.ToLower(w)] && len(w) > 2 {
				out[strings.ToLower(w)] = true
			}
		}
	}
	out["huggingface"] = true
	return out
}

// standardNames are removed before a line is scanned: standards, and this
// module's own import path.
var standardNames = []string{"github.com/rekeyhq/rekey", "google.rpc.ErrorInfo", "google.rpc.RequestInfo", "google.rpc.Status", "google.rpc", "type.googleapis.com"}

// vendorWordsIn returns the vendor words in a line of Go: whole words,
// and the parts of camel-case identifiers ("hubSpotCode" is hub, Spot,
// Code and hubspot); a common English word counts only capitalised.
func vendorWordsIn(line string, brands map[string]bool) []string {
	for _, s := range standardNames {
		line = strings.ReplaceAll(line, s, "")
	}
	var found []string
	for _, w := range wordRE.FindAllString(line, -1) {
		parts := camelParts(w)
		cands := append([]string{w}, parts...)
		for i := 0; i+1 < len(parts); i++ {
			cands = append(cands, parts[i]+parts[i+1])
		}
		for _, c := range cands {
			l := strings.ToLower(c)
			if !brands[l] {
				continue
			}
			if commonWords[l] && !unicode.IsUpper(rune(c[0])) {
				continue
			}
			found = append(found, c)
			break
		}
	}
	return found
}

func camelParts(w string) []string {
	var parts []string
	start := 0
	for i := 1; i < len(w); i++ {
		if unicode.IsUpper(rune(w[i])) && unicode.IsLower(rune(w[i-1])) {
			parts = append(parts, w[start:i])
			start = i
		}
	}
	return append(parts, w[start:])
}
