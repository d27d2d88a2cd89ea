package apierr_test

import (
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/internal/corpus"
)

// corpusKey is the key the corpus tests "sent"; some APIs quote it back.
const corpusKey = "rk_live_CORPUSKEY0123456789abcdef"

// TestDecodeCorpus decodes every recorded response and checks the code,
// message and request ID, the verdict of Classify for the 400s, 401s and
// 403s (what the default matcher decides), and the cause of each
// recognised case.
func TestDecodeCorpus(t *testing.T) {
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			e := apierr.Decode(c.Status, c.Header(), c.BodyFor(corpusKey))
			e.Scrub(corpusKey)
			if e.Code != c.Expect.Code || e.Message != c.Expect.Message || e.RequestID != c.Expect.RequestID {
				t.Errorf("decoded code %q, message %q, request ID %q\nwant code %q, message %q, request ID %q",
					e.Code, e.Message, e.RequestID, c.Expect.Code, c.Expect.Message, c.Expect.RequestID)
			}
			if c.Status == 400 || c.Status == 401 || c.Status == 403 {
				if got, _ := apierr.Classify(c.Status == 401, e.Code, e.Message); got != c.Expect.Default {
					t.Errorf("Classify = %v, want %v (recognised by default)", got, c.Expect.Default)
				}
			}
			if c.Expect.Recognised {
				if got := apierr.CauseOf(e.Code, e.Message).String(); got != c.Expect.Cause {
					t.Errorf("CauseOf = %s, want %s", got, c.Expect.Cause)
				}
			}
			if strings.Contains(e.Code+e.Message+e.RequestID, corpusKey) {
				t.Errorf("the key survived the scrub: %+v", e)
			}
		})
	}
}
