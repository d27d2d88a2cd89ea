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

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The OpenAI API: "Authorization: Bearer <key>", request IDs in
// x-request-id, and this 401 body for a wrong key (the key masked in the
// message, as the API does).
var openaiAPI = vendor{
	name:            "openai",
	keyHeader:       "Authorization",
	scheme:          "Bearer",
	requestIDHeader: "X-Request-Id",
	rejection: `{"error": {"message": "Incorrect API key provided: sk-proj-****0001. You can find your API key at https://platform.openai.com/account/api-keys.",` +
		` "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}`,
	unavailable: `{"error": {"message": "The server is overloaded or not ready yet.", "type": "server_error", "param": null, "code": null}}`,
	serve:       serveOpenAI,
}

// openaiStream is what the fake API streams, one chunk per piece.
var openaiStream = []string{"Hello", " from", " a", " streamed", " completion"}

func serveOpenAI(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Model == "" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error": {"message": "you must provide a model parameter", "type": "invalid_request_error", "param": null, "code": null}}`)
			return
		}
		if !req.Stream {
			fmt.Fprintf(w, `{"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": %q,`+
				` "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the loopback API", "refusal": null}, "logprobs": null, "finish_reason": "stop"}],`+
				` "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}`, req.Model)
			return
		}
		e := a.startStream(w)
		for _, piece := range openaiStream {
			e.send("", fmt.Sprintf(`{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": %q,`+
				` "choices": [{"index": 0, "delta": {"content": %q}, "logprobs": null, "finish_reason": null}]}`, req.Model, piece))
		}
		e.send("", "[DONE]")
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/models/"):
		fmt.Fprintf(w, `{"id": %q, "object": "model", "created": 1700000000, "owned_by": "system"}`, strings.TrimPrefix(r.URL.Path, "/v1/models/"))
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error": {"message": "Invalid URL (%s %s)", "type": "invalid_request_error", "param": null, "code": null}}`, r.Method, r.URL.Path)
	}
}

// newOpenAI is how an application wires the SDK to rekey: the placeholder
// key, rekey's http.Client, and the API's base URL.
func newOpenAI(hc *http.Client, base string, retries int) openai.Client {
	opts := []option.RequestOption{
		option.WithBaseURL(base + "/v1/"),
		option.WithAPIKey(placeholder),
		option.WithHTTPClient(hc),
	}
	if retries >= 0 {
		opts = append(opts, option.WithMaxRetries(retries))
	}
	return openai.NewClient(opts...)
}

var openaiChat = openai.ChatCompletionNewParams{
	Model:    openai.ChatModelGPT5_5,
	Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
}

var openaiSDK = sdk{
	name:          "openai",
	vendor:        openaiAPI,
	keys:          "sk-proj-rekeytest",
	sdkRetries:    2,
	retriesErrors: true,
	sdkRetries5xx: true,
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		client := newOpenAI(hc, base, retries)
		c, err := client.Chat.Completions.New(ctx, openaiChat)
		if err == nil && c.Choices[0].Message.Content != "Hello from the loopback API" {
			return fmt.Errorf("unexpected completion %q", c.Choices[0].Message.Content)
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		client := newOpenAI(hc, base, retries)
		_, err := client.Models.Get(ctx, "gpt-5.5")
		return err
	},
	stream: func(ctx context.Context, hc *http.Client, base string, read chan<- struct{}) (string, error) {
		client := newOpenAI(hc, base, 0)
		s := client.Chat.Completions.NewStreaming(ctx, openaiChat)
		defer s.Close()
		var text strings.Builder
		for s.Next() {
			if c := s.Current(); len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
			read <- struct{}{}
		}
		return text.String(), s.Err()
	},
	streamed: strings.Join(openaiStream, ""),
	status: func(err error) (int, bool) {
		var e *openai.Error
		if errors.As(err, &e) {
			return e.StatusCode, true
		}
		return 0, false
	},
	dump: func(err error) string {
		var e *openai.Error
		if !errors.As(err, &e) {
			return ""
		}
		return string(e.DumpRequest(true)) + string(e.DumpResponse(true)) + fmt.Sprintf("%+v %#v", e.Response.Header, e.Request.Header)
	},
}

// TestOpenAI runs the scenarios with github.com/openai/openai-go/v3.
func TestOpenAI(t *testing.T) { runSDK(t, openaiSDK) }
