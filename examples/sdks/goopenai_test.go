package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"
)

// newGoOpenAI wires github.com/sashabaranov/go-openai to rekey: the
// placeholder key, rekey's http.Client, the API's base URL. go-openai has
// no retry layer of its own, so retries is ignored.
func newGoOpenAI(hc *http.Client, base string) *goopenai.Client {
	cfg := goopenai.DefaultConfig(placeholder)
	cfg.BaseURL = base + "/v1"
	cfg.HTTPClient = hc
	return goopenai.NewClientWithConfig(cfg)
}

var goopenaiChat = goopenai.ChatCompletionRequest{
	Model:    goopenai.GPT4o,
	Messages: []goopenai.ChatCompletionMessage{{Role: goopenai.ChatMessageRoleUser, Content: "Say hello"}},
}

// goopenaiSDK runs the scenarios against the same loopback OpenAI API as
// openai-go (openaiAPI): go-openai sends the key as "Authorization:
// Bearer", rekey's default, and has no retries.
var goopenaiSDK = sdk{
	name:   "go-openai",
	vendor: openaiAPI,
	keys:   "sk-proj-rekeytest",
	call: func(ctx context.Context, hc *http.Client, base string, _ int) error {
		c, err := newGoOpenAI(hc, base).CreateChatCompletion(ctx, goopenaiChat)
		if err == nil && c.Choices[0].Message.Content != "Hello from the loopback API" {
			return fmt.Errorf("unexpected completion %q", c.Choices[0].Message.Content)
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, _ int) error {
		_, err := newGoOpenAI(hc, base).GetModel(ctx, "gpt-4o")
		return err
	},
	stream: func(ctx context.Context, hc *http.Client, base string, read chan<- struct{}) (string, error) {
		req := goopenaiChat
		req.Stream = true
		s, err := newGoOpenAI(hc, base).CreateChatCompletionStream(ctx, req)
		if err != nil {
			return "", err
		}
		defer s.Close()
		var text strings.Builder
		for {
			chunk, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return text.String(), nil
			}
			if err != nil {
				return text.String(), err
			}
			if len(chunk.Choices) > 0 {
				text.WriteString(chunk.Choices[0].Delta.Content)
			}
			read <- struct{}{}
		}
	},
	streamed: strings.Join(openaiStream, ""),
	status: func(err error) (int, bool) {
		var e *goopenai.APIError
		var r *goopenai.RequestError
		switch {
		case errors.As(err, &e):
			return e.HTTPStatusCode, true
		case errors.As(err, &r):
			return r.HTTPStatusCode, true
		}
		return 0, false
	},
	own: func(err error) error {
		var e *goopenai.APIError
		if !errors.As(err, &e) || fmt.Sprint(e.Code) != "invalid_api_key" || e.Type != "invalid_request_error" || !strings.HasPrefix(e.Message, "Incorrect API key provided") {
			return fmt.Errorf("%#v; want *openai.APIError with code invalid_api_key, as the API sent it", err)
		}
		return nil
	},
	dump: func(err error) string { return fmt.Sprintf("%+v %#v", err, err) },
}

// TestGoOpenAI runs the scenarios with github.com/sashabaranov/go-openai.
func TestGoOpenAI(t *testing.T) { runSDK(t, goopenaiSDK) }
