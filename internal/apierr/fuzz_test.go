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

// FuzzDecode feeds arbitrary statuses, headers (a Content-Type, a
// WWW-Authenticate challenge, a request ID header) and bodies, starting
// from the corpus and from every shape the decoder reads (JSON, XML,
// HTML, text, challenges), to the decoder and to the recognition and
// cause rules: they must never panic, and what they keep must be valid
// UTF-8, free of control characters and bounded.
func FuzzDecode(f *testing.F) {
	cases, err := corpus.Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		h := c.Header()
		f.Add(c.Status, h.Get("Content-Type"), h.Get("Www-Authenticate"), h.Get("Cf-Ray"), c.BodyFor(corpusKey))
	}
	seeds := []struct {
		status                 int
		contentType, challenge string
		requestID              string
		body                   string
	}{
		{401, "", "\x00\xff", "", `{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"\u0000"}]}}`},
		{403, "application/xml", "", "r", `<?xml version="1.0"?><ErrorResponse><Error><Code>ExpiredToken</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>`},
		{403, "application/xml", "", "", `<Error><Code><Code>nested</Code></Code><Message>&bogus;</Message>`},
		{401, "text/html", "", "", `<html><head><title>401 &amp; <b>x</b></title></head><body><h1>y</h1></body></html>`},
		{401, "text/html", "", "", `<html><title`},
		{401, "", `Bearer error="invalid_token", error_description="The access token expired"`, "", ``},
		{401, "", `Bearer error="\"`, "", ``},
		{401, "", `error=`, "", ``},
		{200, "application/json", "", "", `{"data":null,"errors":[{"message":"m","extensions":{"code":"UNAUTHENTICATED"}}]}`},
		{401, "application/json", "", "", `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`},
		{401, "application/json", "", "", `{"fault":{"faultstring":"f","detail":{"errorcode":"c"}},"meta":{"request_id":"r"}}`},
		{401, "application/json", "", "", `{"__type":"a#b:c","message":{"message":{"message":"deep"}}}`},
		{401, "application/json", "", "", `{"sys":{"type":"Error","id":"X"},"errors":"e","title":"t","id":"i"}`},
		{401, "text/plain", "", "", "Your API key: sk-…f00 is invalid. Key revoked; key expired: maybe"},
		{401, "", "", "", "\ufeff\"string\""},
	}
	for _, s := range seeds {
		f.Add(s.status, s.contentType, s.challenge, s.requestID, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, contentType, challenge, requestID string, body []byte) {
		h := http.Header{"Content-Type": {contentType}, "Www-Authenticate": {challenge}, "X-Example-Request-Id": {requestID}}
		e := apierr.Decode(status, h, body)
		for _, s := range []string{e.Code, e.Message, e.RequestID} {
			if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || len(s) > 512+len("…") {
				t.Fatalf("unclean field %q", s)
			}
		}
		_ = apierr.CauseOf(e.Code, e.Message).String()
		_ = apierr.SaysKeyInvalid(e.Code, e.Message)
		_, _ = apierr.Classify(status == 401, e.Code, e.Message)
		_, _ = apierr.Classify(false, string(body), challenge)
		e.Scrub(corpusKey)
		_ = e.Error()
	})
}
