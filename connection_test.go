package rekey_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// A 2xx response whose body is cut off gives a *ConnectionError that says
// the API received the request (its StatusCode), for Do's JSON and
// io.Writer targets alike; a body that is whole but not JSON stays a
// decoding error.
func TestDoCutBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/bad" {
			io.WriteString(w, `{"id": nope}`)
			return
		}
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id": "wid`)
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	client, err := rekey.NewClient(srv.URL+"/v1", rekey.WithCredentials(credentials.Static("rk_test_cut_body_0123456789")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	for _, tc := range []struct {
		name string
		path string
		into any
		cut  bool
	}{
		{"decoded into a struct", "things", new(struct{ ID string }), true},
		{"copied to a writer", "things", new(strings.Builder), true},
		{"whole but not JSON", "bad", new(struct{ ID string }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := client.NewRequest(context.Background(), http.MethodPost, tc.path, map[string]int{"n": 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Do(req, tc.into)
			var connErr *rekey.ConnectionError
			switch {
			case !tc.cut:
				if err == nil || errors.Is(err, rekey.ErrConnection) || !strings.Contains(err.Error(), "decoding the response") {
					t.Errorf("err = %v, want a decoding error that is not ErrConnection", err)
				}
			case !errors.As(err, &connErr) || !errors.Is(err, rekey.ErrConnection) || !errors.Is(err, io.ErrUnexpectedEOF):
				t.Errorf("err = %v, want a *ConnectionError matching ErrConnection and io.ErrUnexpectedEOF", err)
			case connErr.StatusCode != http.StatusCreated || connErr.Method != http.MethodPost:
				t.Errorf("ConnectionError = %+v, want POST with status 201", connErr)
			case !strings.Contains(err.Error(), "status 201: the API received the request"):
				t.Errorf("message %q does not say that the API received the request", err)
			}
		})
	}
}
