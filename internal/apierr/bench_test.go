package apierr_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// BenchmarkDecode measures the decoder on a typical rejection and on
// bodies as large as the transport reads (64 KiB), in each format: its
// work grows with the body and stops there.
func BenchmarkDecode(b *testing.B) {
	const limit = 64 << 10
	pad := func(prefix, unit, suffix string) []byte {
		n := (limit - len(prefix) - len(suffix)) / len(unit)
		return []byte(prefix + strings.Repeat(unit, n) + suffix)
	}
	bodies := []struct {
		name, contentType string
		body              []byte
	}{
		{"typical", "application/json", []byte(`{"error":{"message":"Incorrect API key provided: sk-...abcd.","type":"invalid_request_error","code":"invalid_api_key"}}`)},
		{"json-64KiB", "application/json", pad(`{"error":{"message":"m","errors":[`, `{"code":"c","message":"a long list"},`, `{}]}}`)},
		{"json-wide-64KiB", "application/json", pad(`{`, `"field_name_0000":"value",`, `"message":"m"}`)},
		{"xml-64KiB", "application/xml", pad(`<Error><Code>X</Code>`, `<Item>v</Item>`, `<Message>m</Message></Error>`)},
		{"html-64KiB", "text/html", pad(`<html><head>`, `<meta name="x" content="y">`, `<title>401 Unauthorized</title></head></html>`)},
		{"text-64KiB", "text/plain", pad(``, `invalid token `, ``)},
	}
	for _, c := range bodies {
		h := http.Header{"Content-Type": {c.contentType}, "X-Request-Id": {"r"}}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				e := apierr.Decode(401, h, c.body)
				apierr.Classify(true, e.Code, e.Message)
			}
		})
	}
}
