package rekey_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

type requestTag struct{}

// ctxHandler is a slog.Handler that records, per message, the requestTag
// value of the context it was given, as a handler that correlates logs with
// traces would read the span from it.
type ctxHandler struct {
	mu   *sync.Mutex
	tags map[string]any
}

func (h ctxHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h ctxHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h ctxHandler) WithGroup(string) slog.Handler            { return h }
func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tags[r.Message] = ctx.Value(requestTag{})
	return nil
}

// The log records of a recovery get the context of the request it delayed.
func TestLogsGetTheRequestContext(t *testing.T) {
	api := newFakeAPI(t, clientKey2)
	h := ctxHandler{mu: new(sync.Mutex), tags: map[string]any{}}
	c := newTestClient(t, api, rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: clientKey2}, nil
		}),
		rekey.WithLogger(slog.New(h)))
	ctx := context.WithValue(context.Background(), requestTag{}, "req 1")
	req, err := c.NewRequest(ctx, http.MethodGet, "things/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(req, nil); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, msg := range []string{
		"rekey: API key rejected; refreshing it",
		"rekey: refreshing API key",
		"rekey: API key refreshed",
		"rekey: request replayed with a refreshed key",
	} {
		if got := h.tags[msg]; got != "req 1" {
			t.Errorf("%q logged with context tag %v, want the request's", msg, got)
		}
	}
}
