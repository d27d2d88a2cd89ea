package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/internal/corpus"
)

// TestCheckCorpus runs "rekey check" against a loopback server answering
// with each recorded response of the corpus. A rejection gets exit 1, the
// server's message on stdout, and on stderr the status and code, the
// request ID, the cause and the next step for that cause; anything else
// gets exit 3 (or 0 for a 2xx that is not a rejection). The key, which some
// responses quote back, is never printed.
func TestCheckCorpus(t *testing.T) {
	const key = "rk_live_CHECKCORPUS00000000000001"
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	causes := map[string]rekey.KeyCause{"unknown": rekey.CauseUnknown, "invalid": rekey.CauseInvalid, "expired": rekey.CauseExpired, "revoked": rekey.CauseRevoked}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.Headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.Status)
				w.Write(c.BodyFor(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
			}))
			defer srv.Close()
			t.Setenv("REKEY_CHECK_KEY", key)
			code, stdout, stderr := runCmd(t, "check", "--url", srv.URL+"/v1/me", "--key-env", "REKEY_CHECK_KEY")
			assertNoKeys(t, stdout+stderr, key)
			switch {
			case c.Expect.Recognised:
				msg := c.Expect.Message
				if msg == "" {
					msg = c.Expect.Code
				}
				answered := strings.TrimSpace(fmt.Sprintf("answered %d %s", c.Status, c.Expect.Code))
				cause := causes[c.Expect.Cause]
				wants := []string{answered, "cause: " + causeText(cause), "next step: " + nextStep(cause)}
				if c.Expect.RequestID != "" {
					wants = append(wants, "(request ID "+c.Expect.RequestID+")")
				}
				if code != exitFailed || stdout != "invalid: "+msg+"\n" {
					t.Errorf("exit %d, stdout %q; want exit %d, %q", code, stdout, exitFailed, "invalid: "+msg+"\n")
				}
				for _, w := range wants {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, stderr)
					}
				}
			case c.Status < 300:
				if code != exitOK || stdout != "valid\n" {
					t.Errorf("exit %d, stdout %q; want a 2xx that is not a rejection to be valid", code, stdout)
				}
			default:
				if code != exitTrouble || stdout != "" || !strings.Contains(stderr, "could not check the key") {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, could not check", code, stdout, stderr, exitTrouble)
				}
				if hint := "may be valid but not for this URL"; (c.Status == 401 || c.Status == 403) != strings.Contains(stderr, hint) {
					t.Errorf("stderr %q: the hint %q belongs to a 401 or 403 that is not a rejection, and only to those", stderr, hint)
				}
			}
		})
	}
}
