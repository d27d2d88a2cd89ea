// Package sdks shows, and tests, rekey under vendor SDKs and HTTP clients:
// OpenAI's github.com/openai/openai-go/v3 and the community
// github.com/sashabaranov/go-openai, Anthropic's
// github.com/anthropics/anthropic-sdk-go (v1 and v2), Google's
// google.golang.org/genai (Gemini), Stripe's github.com/stripe/stripe-go/v85,
// github.com/google/go-github/v84, github.com/slack-go/slack, Twilio's
// github.com/twilio/twilio-go (the key in HTTP Basic auth), and the general
// clients github.com/go-resty/resty/v2 and
// github.com/hashicorp/go-retryablehttp. It is a nested module so that the
// rekey core does not depend on them; it holds no API of its own, only tests
// and examples. docs/sdks.md at the repository's root has the "Works with"
// table.
//
// Each SDK takes an *http.Client: give it [rekey.Client.HTTPClient]. rekey
// injects the real key, so the SDK gets a placeholder in its own key
// option; rekey's header replaces the SDK's (the tests check that the API
// never sees the placeholder).
//
// Choose the mode by who handles the invalid-key error:
//
//   - Response mode ([rekey.WithReturnResponse]): after a failed recovery the
//     SDK receives the API's own rejection and returns its typed error
//     (*openai.Error, *anthropic.Error, genai.APIError, *stripe.Error,
//     *github.ErrorResponse, slack-go's invalid_auth, twilio-go's 20003), as
//     it does without rekey. No SDK retries it, so a failed recovery costs 2
//     requests and 1 refresh. Best for code written against the SDK.
//   - Error mode (the default): the SDK receives rekey's error, which
//     matches [rekey.ErrInvalidAPIKey] through the SDK's wrapping. The SDK
//     takes it for a network failure and retries it; each retry sends one
//     request, and within the RejectedKeyCooldown (10s by default,
//     [rekey.WithRejectedKeyCooldown]) no retry calls the refresh hook again. Turn the SDK's retries off to send 2 requests.
//
// Retries: keep one retry layer, not both, or their attempts multiply (every
// SDK takes rekey's error after rekey's own retries for a connection error
// and starts over). Which one depends on the SDK:
//
//   - openai-go and anthropic-sdk-go retry 408, 409, 429 and 5xx responses
//     (Anthropic's 529 too) and honour x-should-retry and Retry-After-Ms,
//     while rekey's layer retries a POST only when it carries an
//     Idempotency-Key, which these SDKs do not send: keep the SDK's
//     retries and pass [rekey.WithoutRetries].
//   - stripe-go retries only connection errors, not a 5xx it decoded, and
//     puts an Idempotency-Key on every POST: keep rekey's layer and set
//     BackendConfig.MaxNetworkRetries to 0.
//   - genai and slack-go retry nothing by default: turn their retries on and
//     pass [rekey.WithoutRetries]. go-openai, go-github and twilio-go have no
//     retries: keep rekey's. go-retryablehttp is a retry layer: pass
//     [rekey.WithoutRetries].
//
// The tests run each SDK against a loopback server that answers as the API
// does (its paths, its auth header, its documented 401 body and request-ID
// header, its server-sent event streams) and count what reaches it; see
// README.md for the counts.
package sdks
