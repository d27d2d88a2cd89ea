package apierr_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/internal/corpus"
)

// FuzzDecode feeds arbitrary statuses, request ID headers and bodies,
// starting from the corpus, to the decoder and to the cause and detection
// rules: they must never panic, and what they keep must be valid UTF-8,
// free of control characters and bounded.
func FuzzDecode(f *testing.F) {
	cases, err := corpus.Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add(c.Status, c.Header().Get("Cf-Ray"), c.BodyFor(corpusKey))
	}
	f.Add(401, "\x00\xff", []byte(`{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"\u0000"}]}}`))
	f.Fuzz(func(t *testing.T, status int, ray string, body []byte) {
		e := apierr.Decode(status, http.Header{"Cf-Ray": {ray}}, body)
		for _, s := range []string{e.Code, e.Message, e.RequestID} {
			if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || len(s) > 512+len("…") {
				t.Fatalf("unclean field %q", s)
			}
		}
		_ = apierr.CauseOf(e.Code, e.Message).String()
		_ = apierr.SaysKeyInvalid(e.Code, e.Message)
		e.Scrub(corpusKey)
		_ = e.Error()
	})
}
