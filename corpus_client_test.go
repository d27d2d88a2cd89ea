package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/corpus"
	"github.com/rekeyhq/rekey/transport"
)

// corpusRejection is the rekey.WithRejection a user of the case's API
// passes (nothing for the default).
func corpusRejection(name string) []rekey.Option {
	switch name {
	case "slack":
		return []rekey.Option{rekey.WithRejection(transport.Slack())}
	case "aws-api-gateway":
		return []rekey.Option{rekey.WithRejection(transport.AnyOf(transport.IsInvalidKeyRejection,
			transport.StatusHeader(http.StatusForbidden, "X-Amzn-Errortype", "ForbiddenException")))}
	case "google-maps":
		return []rekey.Option{rekey.WithRejection(transport.AnyOf(transport.IsInvalidKeyRejection,
			transport.StatusBody(http.StatusOK, "The provided API key is invalid."),
			transport.StatusBody(http.StatusOK, "The provided API key is expired.")))}
	case "graphql":
		return []rekey.Option{rekey.WithRejection(transport.GraphQL())}
	}
	return nil
}

// TestClientOnCorpus sends every recognised rejection of the corpus through
// a rekey.Client configured as that API's users would (with
// rekey.WithRejection where the API needs a matcher) and a logger: the
// client recovers, the hook and the log line report the cause, and when
// the new key is rejected too, neither the error nor any log line holds a
// key, though the server quotes back what it received.
func TestClientOnCorpus(t *testing.T) {
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.Expect.Recognised {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			for _, stillRejected := range []bool{false, true} {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
					if key == clientKey2 && !stillRejected {
						io.WriteString(w, `{"ok":true}`)
						return
					}
					for k, v := range c.Headers {
						w.Header().Set(k, v)
					}
					w.WriteHeader(c.Status)
					w.Write(c.BodyFor(key))
				}))
				var logs syncBuffer
				var causes []rekey.KeyCause
				opts := append([]rekey.Option{
					rekey.WithCredentials(credentials.Static(clientKey1)),
					rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
						return credentials.Credential{Key: clientKey2}, nil
					}),
					rekey.WithoutRetries(),
					rekey.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
					rekey.WithHooks(rekey.Hooks{KeyRejected: func(ev transport.Event) { causes = append(causes, ev.Cause) }}),
				}, corpusRejection(c.Matcher)...)
				client, err := rekey.NewClient(srv.URL, opts...)
				if err != nil {
					t.Fatal(err)
				}
				req, _ := client.NewRequest(context.Background(), http.MethodGet, "/v1/thing", nil)
				var out map[string]any
				_, err = client.Do(req, &out)
				client.Close()
				srv.Close()

				var apiErr *rekey.APIError
				switch {
				case !stillRejected && err != nil:
					t.Fatalf("not recovered: %v", err)
				case !stillRejected && out["ok"] != true:
					t.Fatalf("recovered with %v", out)
				case stillRejected && !(errors.Is(err, rekey.ErrInvalidAPIKey) && errors.As(err, &apiErr)):
					t.Fatalf("still rejected: got %v, want an invalid-key *rekey.APIError", err)
				case stillRejected && apiErr.Cause.String() != c.Expect.Cause:
					t.Errorf("APIError.Cause = %v, want %s", apiErr.Cause, c.Expect.Cause)
				}
				if len(causes) != 1 || causes[0].String() != c.Expect.Cause {
					t.Errorf("KeyRejected hook saw causes %v, want one %s", causes, c.Expect.Cause)
				}
				log := logs.String()
				if c.Expect.Cause != "unknown" && !strings.Contains(log, `"cause":"`+c.Expect.Cause+`"`) {
					t.Errorf("log does not report the cause %s:\n%s", c.Expect.Cause, log)
				}
				assertNoKey(t, "error and logs", fmt.Sprintf("%v\n%+v\n%#v\n%s", err, apiErr, apiErr, log), clientKey1, clientKey2)
			}
		})
	}
}

// TestReadmeListsTheCorpus: the "Tested against" page (docs/tested-against.md,
// linked from the README) has a row for every response in the corpus.
func TestReadmeListsTheCorpus(t *testing.T) {
	readme, err := os.ReadFile("docs/tested-against.md")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !strings.Contains(string(readme), "(../internal/apierr/testdata/rejections/"+c.File+".json)") {
			t.Errorf("docs/tested-against.md has no row for %s", c.File)
		}
	}
}
