package sdks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	anthropicv1 "github.com/anthropics/anthropic-sdk-go"
	optionv1 "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/rekeyhq/rekey"
)

// The Anthropic API. Version 2026-10-21, which anthropic-sdk-go/v2 speaks,
// takes the key as "Authorization: Bearer <key>"; version 2023-06-01, which
// anthropic-sdk-go v1 speaks, as "x-api-key: <key>". Both put request IDs in
// request-id and answer a bad key with this 401 body.
func anthropicAPI(version, keyHeader, scheme string) vendor {
	return vendor{
		name:            "anthropic",
		keyHeader:       keyHeader,
		scheme:          scheme,
		requestIDHeader: "Request-Id",
		rejection:       `{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}`,
		unavailable:     `{"type": "error", "error": {"type": "api_error", "message": "Service unavailable"}}`,
		required:        map[string]string{"Anthropic-Version": version},
		serve:           serveAnthropic,
	}
}

// anthropicStream is the text the fake API streams, one delta per piece.
var anthropicStream = []string{"Hello", " from", " a", " streamed", " message"}

func serveAnthropic(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
		var req struct {
			Model     string `json:"model"`
			MaxTokens int    `json:"max_tokens"`
			Stream    bool   `json:"stream"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Model == "" || req.MaxTokens == 0 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"type": "error", "error": {"type": "invalid_request_error", "message": "model: Field required"}}`)
			return
		}
		if !req.Stream {
			fmt.Fprintf(w, `{"id": "msg_01", "type": "message", "role": "assistant", "model": %q,`+
				` "content": [{"type": "text", "text": "Hello from the loopback API"}],`+
				` "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 5}}`, req.Model)
			return
		}
		e := a.startStream(w)
		e.send("message_start", fmt.Sprintf(`{"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": %q,`+
			` "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}}`, req.Model))
		e.send("content_block_start", `{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}`)
		for _, piece := range anthropicStream {
			e.send("content_block_delta", fmt.Sprintf(`{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": %q}}`, piece))
		}
		e.send("content_block_stop", `{"type": "content_block_stop", "index": 0}`)
		e.send("message_delta", `{"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 6}}`)
		e.send("message_stop", `{"type": "message_stop"}`)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/models/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/models/")
		fmt.Fprintf(w, `{"type": "model", "id": %q, "display_name": %q, "created_at": "2026-01-01T00:00:00Z"}`, id, id)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"type": "error", "error": {"type": "not_found_error", "message": "Not found"}}`)
	}
}

const anthropicModel = "claude-sonnet-4-6"

// newAnthropic wires anthropic-sdk-go/v2 to rekey: placeholder key,
// rekey's http.Client, the API's base URL.
func newAnthropic(hc *http.Client, base string, retries int) anthropic.Client {
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithAPIKey(placeholder),
		option.WithHTTPClient(hc),
	}
	if retries >= 0 {
		opts = append(opts, option.WithMaxRetries(retries))
	}
	return anthropic.NewClient(opts...)
}

var anthropicMessage = anthropic.MessageNewParams{
	Model:     anthropicModel,
	MaxTokens: 64,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
}

var anthropicSDK = sdk{
	name:          "anthropic",
	vendor:        anthropicAPI("2026-10-21", "Authorization", "Bearer"),
	keys:          "sk-ant-api03-rekeytest",
	sdkRetries:    2,
	retriesErrors: true,
	sdkRetries5xx: true,
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		client := newAnthropic(hc, base, retries)
		m, err := client.Messages.New(ctx, anthropicMessage)
		if err == nil && (len(m.Content) != 1 || m.Content[0].Text != "Hello from the loopback API") {
			return fmt.Errorf("unexpected message %+v", m.Content)
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		client := newAnthropic(hc, base, retries)
		_, err := client.Models.Get(ctx, anthropicModel, anthropic.ModelGetParams{})
		return err
	},
	stream: func(ctx context.Context, hc *http.Client, base string, read chan<- struct{}) (string, error) {
		client := newAnthropic(hc, base, 0)
		s := client.Messages.NewStreaming(ctx, anthropicMessage)
		defer s.Close()
		var text strings.Builder
		for s.Next() {
			if ev := s.Current(); ev.Type == "content_block_delta" {
				text.WriteString(ev.Delta.Text)
			}
			read <- struct{}{}
		}
		return text.String(), s.Err()
	},
	streamed: strings.Join(anthropicStream, ""),
	status: func(err error) (int, bool) {
		var e *anthropic.Error
		if errors.As(err, &e) {
			return e.StatusCode, true
		}
		return 0, false
	},
	dump: func(err error) string {
		var e *anthropic.Error
		if !errors.As(err, &e) {
			return ""
		}
		return string(e.DumpRequest(true)) + string(e.DumpResponse(true)) + fmt.Sprintf("%+v %#v", e.Response.Header, e.Request.Header)
	},
}

// TestAnthropic runs the scenarios with github.com/anthropics/anthropic-sdk-go/v2.
func TestAnthropic(t *testing.T) { runSDK(t, anthropicSDK) }

// newAnthropicV1 wires anthropic-sdk-go v1 to rekey. It sends its key as
// x-api-key, so rekey must too (rekey.WithHeader): rekey's header then
// replaces the SDK's placeholder.
func newAnthropicV1(hc *http.Client, base string, retries int) anthropicv1.Client {
	opts := []optionv1.RequestOption{
		optionv1.WithBaseURL(base),
		optionv1.WithAPIKey(placeholder),
		optionv1.WithHTTPClient(hc),
	}
	if retries >= 0 {
		opts = append(opts, optionv1.WithMaxRetries(retries))
	}
	return anthropicv1.NewClient(opts...)
}

var anthropicV1Message = anthropicv1.MessageNewParams{
	Model:     anthropicModel,
	MaxTokens: 64,
	Messages:  []anthropicv1.MessageParam{anthropicv1.NewUserMessage(anthropicv1.NewTextBlock("Say hello"))},
}

var anthropicV1SDK = sdk{
	name:          "anthropic v1",
	vendor:        anthropicAPI("2023-06-01", "X-Api-Key", ""),
	keys:          "sk-ant-api03-rekeytest",
	options:       []rekey.Option{rekey.WithHeader("X-Api-Key")}, // the SDK's own header, bare key
	sdkRetries:    2,
	retriesErrors: true,
	sdkRetries5xx: true,
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		client := newAnthropicV1(hc, base, retries)
		m, err := client.Messages.New(ctx, anthropicV1Message)
		if err == nil && (len(m.Content) != 1 || m.Content[0].Text != "Hello from the loopback API") {
			return fmt.Errorf("unexpected message %+v", m.Content)
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		client := newAnthropicV1(hc, base, retries)
		_, err := client.Models.Get(ctx, anthropicModel, anthropicv1.ModelGetParams{})
		return err
	},
	stream: func(ctx context.Context, hc *http.Client, base string, read chan<- struct{}) (string, error) {
		client := newAnthropicV1(hc, base, 0)
		s := client.Messages.NewStreaming(ctx, anthropicV1Message)
		defer s.Close()
		var text strings.Builder
		for s.Next() {
			if ev := s.Current(); ev.Type == "content_block_delta" {
				text.WriteString(ev.Delta.Text)
			}
			read <- struct{}{}
		}
		return text.String(), s.Err()
	},
	streamed: strings.Join(anthropicStream, ""),
	status: func(err error) (int, bool) {
		var e *anthropicv1.Error
		if errors.As(err, &e) {
			return e.StatusCode, true
		}
		return 0, false
	},
	dump: func(err error) string {
		var e *anthropicv1.Error
		if !errors.As(err, &e) {
			return ""
		}
		return string(e.DumpRequest(true)) + string(e.DumpResponse(true)) + fmt.Sprintf("%+v %#v", e.Response.Header, e.Request.Header)
	},
}

// TestAnthropicV1 runs the scenarios with anthropic-sdk-go v1, whose key
// header is x-api-key: rekey's custom header must replace the SDK's.
func TestAnthropicV1(t *testing.T) { runSDK(t, anthropicV1SDK) }
