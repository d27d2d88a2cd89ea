package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/rekeyhq/rekey"
)

// The Gemini API: the key in x-goog-api-key
// (https://ai.google.dev/gemini-api/docs/api-key), and an invalid key
// answered with 400 INVALID_ARGUMENT whose ErrorInfo reason is
// API_KEY_INVALID (internal/apierr/testdata/rejections/gemini-invalid-key.json);
// 503 UNAVAILABLE when overloaded (https://ai.google.dev/gemini-api/docs/troubleshooting).
// No request-ID header is documented.
var geminiAPI = vendor{
	name:            "gemini",
	keyHeader:       "X-Goog-Api-Key",
	rejectionStatus: http.StatusBadRequest,
	rejection: `{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",` +
		` "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",` +
		` "metadata": {"service": "generativelanguage.googleapis.com"}}, {"@type": "type.googleapis.com/google.rpc.LocalizedMessage",` +
		` "locale": "en-US", "message": "API key not valid. Please pass a valid API key."}]}}`,
	unavailable: `{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}`,
	serve:       serveGemini,
}

// geminiStream is what the fake API streams, one chunk per piece.
var geminiStream = []string{"Hello", " from", " a", " streamed", " answer"}

const geminiModel = "gemini-2.5-flash"

// serveGemini answers models.generateContent, models.streamGenerateContent
// (server-sent events with alt=sse) and models.get in the shapes of
// https://ai.google.dev/api/generate-content and https://ai.google.dev/api/models.
func serveGemini(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	answer := func(text string) string {
		return fmt.Sprintf(`{"candidates": [{"content": {"parts": [{"text": %q}], "role": "model"}, "finishReason": "STOP", "index": 0}],`+
			` "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 5, "totalTokenCount": 8}, "modelVersion": %q}`, text, geminiModel)
	}
	switch path := r.URL.Path; {
	case r.Method == http.MethodPost && path == "/v1beta/models/"+geminiModel+":generateContent":
		fmt.Fprint(w, answer("Hello from the loopback API"))
	case r.Method == http.MethodPost && path == "/v1beta/models/"+geminiModel+":streamGenerateContent" && r.URL.Query().Get("alt") == "sse":
		e := a.startStream(w)
		for _, piece := range geminiStream {
			e.send("", answer(piece))
		}
	case r.Method == http.MethodGet && path == "/v1beta/models/"+geminiModel:
		fmt.Fprintf(w, `{"name": "models/%s", "version": "001", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576,`+
			` "outputTokenLimit": 65536, "supportedGenerationMethods": ["generateContent", "countTokens"]}`, geminiModel)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error": {"code": 404, "message": "%s %s is not found.", "status": "NOT_FOUND"}}`, r.Method, path)
	}
}

// newGenAI wires google.golang.org/genai to rekey: the placeholder key,
// rekey's http.Client, the API's base URL. genai retries nothing unless
// HTTPOptions.RetryOptions says so; retries > 0 turns that on with short
// waits.
func newGenAI(ctx context.Context, hc *http.Client, base string, retries int) (*genai.Client, error) {
	opts := genai.HTTPOptions{BaseURL: base + "/", APIVersion: "v1beta"}
	if retries > 0 {
		attempts, wait, jitter := int32(retries+1), 0.001, 0.0
		opts.RetryOptions = &genai.HTTPRetryOptions{Attempts: &attempts, InitialDelay: &wait, MaxDelay: &wait, Jitter: &jitter}
	}
	return genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:      placeholder,
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  hc,
		HTTPOptions: opts,
	})
}

var genaiSDK = sdk{
	name:          "genai",
	vendor:        geminiAPI,
	keys:          "AIzaSyRekeyTest",
	options:       []rekey.Option{rekey.WithHeader("x-goog-api-key")},
	optInRetries:  2,
	sdkRetries5xx: true,
	retriesErrors: true,
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		c, err := newGenAI(ctx, hc, base, retries)
		if err != nil {
			return err
		}
		resp, err := c.Models.GenerateContent(ctx, geminiModel, genai.Text("Say hello"), nil)
		if err == nil && resp.Text() != "Hello from the loopback API" {
			return fmt.Errorf("unexpected answer %q", resp.Text())
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		c, err := newGenAI(ctx, hc, base, retries)
		if err != nil {
			return err
		}
		_, err = c.Models.Get(ctx, geminiModel, nil)
		return err
	},
	stream: func(ctx context.Context, hc *http.Client, base string, read chan<- struct{}) (string, error) {
		c, err := newGenAI(ctx, hc, base, 0)
		if err != nil {
			return "", err
		}
		var text strings.Builder
		for resp, err := range c.Models.GenerateContentStream(ctx, geminiModel, genai.Text("Say hello"), nil) {
			if err != nil {
				return text.String(), err
			}
			text.WriteString(resp.Text())
			read <- struct{}{}
		}
		return text.String(), nil
	},
	streamed: strings.Join(geminiStream, ""),
	status: func(err error) (int, bool) {
		var e genai.APIError
		if errors.As(err, &e) {
			return e.Code, true
		}
		return 0, false
	},
	own: func(err error) error {
		var e genai.APIError
		if !errors.As(err, &e) || e.Status != "INVALID_ARGUMENT" || len(e.Details) == 0 || e.Details[0]["reason"] != "API_KEY_INVALID" {
			return fmt.Errorf("%#v; want genai.APIError INVALID_ARGUMENT with reason API_KEY_INVALID, as the API sent it", err)
		}
		return nil
	},
	dump: func(err error) string { return fmt.Sprintf("%+v %#v", err, err) },
}

// TestGenAI runs the scenarios with google.golang.org/genai (Gemini).
func TestGenAI(t *testing.T) { runSDK(t, genaiSDK) }
