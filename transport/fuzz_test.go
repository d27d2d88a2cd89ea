package transport_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/corpus"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/transport"
)

// fuzzBase answers with a fixed status, header and body, counting the body
// bytes read.
type fuzzBase struct {
	status    int
	requestID string
	body      []byte
	read      atomic.Int64
}

func (f *fuzzBase) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	h.Set("X-Request-Id", f.requestID)
	return &http.Response{
		StatusCode: f.status,
		Header:     h,
		Body:       &meteredBody{ReadCloser: io.NopCloser(bytes.NewReader(f.body)), n: &f.read},
		Request:    r,
	}, nil
}

// FuzzRejection feeds arbitrary statuses, request IDs and bodies through the
// transport, starting from the corpus of real APIs' responses: it must never panic, never read a rejection past the cap, never
// classify a 2xx as a rejection, pass other responses through byte for byte,
// and never let the key or a control character into the error text.
func FuzzRejection(f *testing.F) {
	f.Add(401, "req-1", []byte(seedBody))
	f.Add(403, "req-2", []byte(`{"error": {"message": "The API key has been revoked."}}`))
	f.Add(403, "", []byte(`{"error": "Forbidden", "message": "lacks scope"}`))
	f.Add(200, "x", []byte(`{"error": "Invalid API Key"}`))
	f.Add(401, "\x00\n", []byte("\xff\xfe<html>"))
	f.Add(500, "", []byte(strings.Repeat("A", 300)))
	f.Add(401, "", []byte(`{"error": "`+oldKey+`", "message": "key `+oldKey+` is bad"}`))
	cases, err := corpus.Load() // every recorded response of a real API
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add(c.Status, c.Header().Get("X-Request-Id"), c.BodyFor(oldKey))
	}
	const limit = 256
	f.Fuzz(func(t *testing.T, status int, requestID string, body []byte) {
		if status < 100 || status > 599 {
			status = 100 + (status%500+500)%500
		}
		base := &fuzzBase{status: status, requestID: requestID, body: body}
		tr := &transport.Transport{Base: base, Credentials: credentials.Static(oldKey), Refresh: countingRefresh(newKey, new(atomic.Int64)), MaxErrorBody: limit}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			if status < 400 {
				t.Fatalf("status %d classified as an error: %v", status, err)
			}
			var apiErr *rekey.APIError
			if !errors.As(err, &apiErr) || !errors.Is(err, rekey.ErrInvalidAPIKey) {
				t.Fatalf("error is not a classified rejection: %v", err)
			}
			if got := base.read.Load(); got > 2*limit {
				t.Fatalf("read %d bytes of rejection bodies, cap %d each", got, limit)
			}
			msg := err.Error()
			if strings.Contains(msg, oldKey) || strings.Contains(msg, newKey) {
				t.Fatalf("error contains a key: %q", msg)
			}
			if strings.IndexFunc(msg, unicode.IsControl) >= 0 {
				t.Fatalf("error contains a control character: %q", msg)
			}
			return
		}
		got, _ := io.ReadAll(testwait.Progressing(resp.Body))
		resp.Body.Close()
		if !bytes.Equal(got, body) {
			t.Fatalf("status %d passed through with a different body", status)
		}
	})
}
