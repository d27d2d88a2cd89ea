package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stripe/stripe-go/v85"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// exampleAPI stands in for a vendor's API in the examples: it rejects the
// key in the environment variable env, as if it had been revoked, and
// accepts the keys its mintKey hands out.
type exampleAPI struct {
	*fakeAPI
	prefix string
	minted atomic.Int64
}

func startExampleAPI(v vendor, env, prefix string) *exampleAPI {
	os.Setenv(env, prefix+"revoked0000000000000000")
	return &exampleAPI{fakeAPI: startFakeAPI(v), prefix: prefix}
}

// mintKey is the refresh hook of the examples; yours calls your key
// management (an admin API, a secret store) for a new key.
func (a *exampleAPI) mintKey(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	key := fmt.Sprintf("%s%024d", a.prefix, a.minted.Add(1))
	a.accept(key)
	return credentials.Credential{Key: key}, nil
}

// report prints what the API saw, and any wire problem.
func (a *exampleAPI) report() {
	fmt.Printf("requests: %d, refreshes: %d\n", a.requests.Load(), a.minted.Load())
	for _, p := range a.wireProblems() {
		fmt.Println("problem:", p)
	}
	a.Close()
}

// Hand rekey's http.Client to openai-go, in response mode: a 401 that rekey
// could not fix reaches the SDK, which returns *openai.Error as usual. The
// SDK gets a placeholder key: rekey sets the Authorization header itself.
// The SDK keeps its retries; rekey's are off.
func Example_openAI() {
	api := startExampleAPI(openaiAPI, "OPENAI_API_KEY", "sk-proj-") // stands in for https://api.openai.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("OPENAI_API_KEY")),
		rekey.WithRefresh(api.mintKey),
		rekey.WithReturnResponse(), // a 401 rekey could not fix becomes *openai.Error
		rekey.WithoutRetries(),     // the SDK retries 5xx and 429 itself
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	client := openai.NewClient(
		option.WithBaseURL(api.URL+"/v1/"),
		option.WithAPIKey("set-by-rekey"), // a placeholder: rekey sends the real key
		option.WithHTTPClient(rk.HTTPClient()),
	)

	completion, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT5_5,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	})
	var apiErr *openai.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
		log.Fatal("the API rejected the key, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(completion.Choices[0].Message.Content)
	// Output:
	// Hello from the loopback API
	// requests: 2, refreshes: 1
}

// Hand rekey's http.Client to anthropic-sdk-go/v2 in response mode. That
// SDK sends its key as "Authorization: Bearer", rekey's default (for
// anthropic-sdk-go v1, which sends x-api-key, add rekey.WithHeader("x-api-key")).
func Example_anthropic() {
	api := startExampleAPI(anthropicSDK.vendor, "ANTHROPIC_API_KEY", "sk-ant-api03-") // stands in for https://api.anthropic.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("ANTHROPIC_API_KEY")),
		rekey.WithRefresh(api.mintKey),
		rekey.WithReturnResponse(), // a 401 rekey could not fix becomes *anthropic.Error
		rekey.WithoutRetries(),     // the SDK retries 5xx (529 overloaded too) and 429 itself
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	client := anthropic.NewClient(
		anthropicoption.WithBaseURL(api.URL),
		anthropicoption.WithAPIKey("set-by-rekey"), // a placeholder: rekey sends the real key
		anthropicoption.WithHTTPClient(rk.HTTPClient()),
	)

	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-6",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
	})
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
		log.Fatal("the API rejected the key, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg.Content[0].Text)
	// Output:
	// Hello from the loopback API
	// requests: 2, refreshes: 1
}

// Hand rekey's http.Client to stripe-go in response mode. stripe-go retries
// only connection errors, not a 5xx it decoded, so here rekey's retry
// layer stays on (it retries stripe-go's POSTs, which carry an
// Idempotency-Key) and stripe-go's is off.
func Example_stripe() {
	api := startExampleAPI(stripeAPI, "STRIPE_SECRET_KEY", "sk_test_") // stands in for https://api.stripe.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("STRIPE_SECRET_KEY")),
		rekey.WithRefresh(api.mintKey),
		rekey.WithReturnResponse(), // a 401 rekey could not fix becomes *stripe.Error
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	sc := stripe.NewClient("set-by-rekey", // a placeholder: rekey sends the real key
		stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
			HTTPClient:        rk.HTTPClient(),
			URL:               stripe.String(api.URL),
			MaxNetworkRetries: stripe.Int64(0), // rekey retries
		})))

	customer, err := sc.V1Customers.Create(context.Background(), &stripe.CustomerCreateParams{Email: stripe.String("jenny@example.com")})
	var stripeErr *stripe.Error
	if errors.As(err, &stripeErr) && stripeErr.HTTPStatusCode == http.StatusUnauthorized {
		log.Fatal("the API rejected the key, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(customer.ID, customer.Email)
	// Output:
	// cus_new jenny@example.com
	// requests: 2, refreshes: 1
}

// Error mode, the default: the SDK gets rekey's error, which it wraps but
// errors.Is still sees. Turn the SDK's retries off: it would take rekey's
// error for a network failure and send the request again (each time without
// a new refresh, within rekey's cooldown, but a request each). Here the key
// in the environment is revoked and there is no refresh hook: re-reading
// the environment gives the same key, so recovery fails at once.
func Example_errorMode() {
	api := startExampleAPI(openaiAPI, "OPENAI_API_KEY", "sk-proj-")
	defer api.report()

	rk, err := rekey.NewClient(api.URL, rekey.WithCredentials(credentials.Env("OPENAI_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	client := openai.NewClient(
		option.WithBaseURL(api.URL+"/v1/"),
		option.WithAPIKey("set-by-rekey"),
		option.WithHTTPClient(rk.HTTPClient()),
		option.WithMaxRetries(0), // rekey's layer retries (GETs, and POSTs with an Idempotency-Key)
	)

	_, err = client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT5_5,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	})
	fmt.Println("invalid key:", errors.Is(err, rekey.ErrInvalidAPIKey))
	fmt.Println("refresh failed:", errors.Is(err, rekey.ErrRefreshFailed))
	// Output:
	// invalid key: true
	// refresh failed: true
	// requests: 1, refreshes: 0
}
