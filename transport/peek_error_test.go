package transport_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/transport"
)

// TestPeekedBodyKeepsItsReadError: when the connection breaks while the
// Transport peeks at a body for a matcher, the caller reading the response it
// passes through gets the bytes that arrived and then the read's error. A
// clean end of file would make a truncated body look complete.
func TestPeekedBodyKeepsItsReadError(t *testing.T) {
	const sent = `{"items": [1, 2, 3`
	srv := newAPI(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000") // promises more than it sends
		io.WriteString(w, sent)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection closes mid-body
	})
	peeks := 0
	tr := &transport.Transport{
		Credentials: credentials.Static(oldKey),
		IsRejection: func(resp *http.Response, body func() []byte) bool {
			peeks++
			return strings.Contains(string(body()), "token_revoked")
		},
	}
	resp, err := get(t, &http.Client{Transport: tr}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(testwait.Progressing(resp.Body))
	if peeks != 1 {
		t.Fatalf("the matcher ran %d times, want 1", peeks)
	}
	if string(b) != sent {
		t.Errorf("body read as %q, want the bytes that arrived, %q", b, sent)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the body ended with %v, want the broken connection's io.ErrUnexpectedEOF", err)
	}
}
