package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/go-resty/resty/v2"
	"github.com/google/go-github/v84/github"
	"github.com/hashicorp/go-retryablehttp"
	goopenai "github.com/sashabaranov/go-openai"
	"github.com/slack-go/slack"
	"github.com/twilio/twilio-go"
	tclient "github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"
	"google.golang.org/genai"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Hand rekey's http.Client to github.com/sashabaranov/go-openai in response
// mode: a 401 rekey could not fix becomes *openai.APIError. go-openai has no
// retries of its own, so rekey's stay on (they retry GETs; a POST without
// an Idempotency-Key is not retried).
func Example_goOpenAI() {
	api := startExampleAPI(openaiAPI, "OPENAI_API_KEY", "sk-proj-") // stands in for https://api.openai.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("OPENAI_API_KEY")),
		rekey.WithRefresh(api.mintKey),
		rekey.WithReturnResponse(),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	cfg := goopenai.DefaultConfig("set-by-rekey") // a placeholder: rekey sends the real key
	cfg.BaseURL = api.URL + "/v1"
	cfg.HTTPClient = rk.HTTPClient()
	client := goopenai.NewClientWithConfig(cfg)

	resp, err := client.CreateChatCompletion(context.Background(), goopenai.ChatCompletionRequest{
		Model:    goopenai.GPT4o,
		Messages: []goopenai.ChatCompletionMessage{{Role: goopenai.ChatMessageRoleUser, Content: "Say hello"}},
	})
	var apiErr *goopenai.APIError
	if errors.As(err, &apiErr) && apiErr.HTTPStatusCode == http.StatusUnauthorized {
		log.Fatal("the API rejected the key, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content)
	// Output:
	// Hello from the loopback API
	// requests: 2, refreshes: 1
}

// Hand rekey's http.Client to google.golang.org/genai (Gemini), which sends
// the key in x-goog-api-key and gets a rejected key back as 400
// INVALID_ARGUMENT (API_KEY_INVALID), which rekey recognises. genai's own
// retries (off by default) cover its POSTs, so they are on and rekey's off.
func Example_genai() {
	api := startExampleAPI(geminiAPI, "GEMINI_API_KEY", "AIzaSy") // stands in for https://generativelanguage.googleapis.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("GEMINI_API_KEY")),
		rekey.WithRefresh(api.mintKey),
		rekey.WithHeader("x-goog-api-key"),
		rekey.WithReturnResponse(), // a rejection rekey could not fix becomes genai.APIError
		rekey.WithoutRetries(),     // genai's RetryOptions retry 408, 429 and 5xx
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	attempts := int32(3)
	ctx := context.Background()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:     "set-by-rekey", // a placeholder: rekey sends the real key
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: rk.HTTPClient(),
		HTTPOptions: genai.HTTPOptions{
			BaseURL:      api.URL + "/",
			RetryOptions: &genai.HTTPRetryOptions{Attempts: &attempts},
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	resp, err := client.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("Say hello"), nil)
	var apiErr genai.APIError
	if errors.As(err, &apiErr) && apiErr.Status == "INVALID_ARGUMENT" {
		log.Fatal("the API rejected the key, even after a refresh: ", apiErr.Message)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text())
	// Output:
	// Hello from the loopback API
	// requests: 2, refreshes: 1
}

// Hand rekey's http.Client to go-github instead of calling WithAuthToken.
// go-github does not retry; rekey's layer does.
func Example_github() {
	api := startExampleAPI(githubAPI, "GITHUB_TOKEN", "github_pat_") // stands in for https://api.github.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("GITHUB_TOKEN")),
		rekey.WithRefresh(api.mintKey), // for example, a new GitHub App installation token
		rekey.WithReturnResponse(),     // a 401 rekey could not fix becomes *github.ErrorResponse
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	client := github.NewClient(rk.HTTPClient())
	client.BaseURL = rk.BaseURL() // only because the API is a stand-in here

	user, _, err := client.Users.Get(context.Background(), "")
	var ghErr *github.ErrorResponse
	if errors.As(err, &ghErr) && ghErr.Response.StatusCode == http.StatusUnauthorized {
		log.Fatal("the API rejected the token, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.GetLogin())
	// Output:
	// octocat
	// requests: 2, refreshes: 1
}

// Hand rekey's http.Client to slack-go. Slack answers a bad token with a
// 200 {"ok": false, "error": "invalid_auth"}, which transport.Slack
// recognises. slack-go sends the token in form bodies in most methods, so
// slackHeaderAuth drops its placeholder there and rekey's Authorization
// header carries the token. slack-go's retries (off by default) cover its
// POSTs and honour Slack's Retry-After, so they are on and rekey's off.
func Example_slack() {
	api := startExampleAPI(slackAPI, "SLACK_BOT_TOKEN", "xoxb-") // stands in for https://slack.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("SLACK_BOT_TOKEN")),
		rekey.WithRefresh(api.mintKey), // for example, Slack's token rotation (oauth.v2.access)
		rekey.WithRejection(transport.Slack()),
		rekey.WithReturnResponse(), // an invalid_auth rekey could not fix is slack-go's own error
		rekey.WithoutRetries(),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	retry := slack.RetryConfig{MaxRetries: 2}
	retry.Handlers = append(slack.AllBuiltinRetryHandlers(retry), slack.NewServerErrorRetryHandler(retry))
	client := slack.New("set-by-rekey", // a placeholder: rekey sends the real token
		slack.OptionHTTPClient(slackHeaderAuth{rk.HTTPClient()}),
		slack.OptionAPIURL(api.URL+"/api/"),
		slack.OptionRetryConfig(retry), // after OptionHTTPClient, which it wraps
	)

	channel, _, err := client.PostMessageContext(context.Background(), "C123ABC456", slack.MsgOptionText("Hello", false))
	var slackErr slack.SlackErrorResponse
	if errors.As(err, &slackErr) && slackErr.Err == "invalid_auth" {
		log.Fatal("Slack rejected the token, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println("posted to", channel)
	// Output:
	// posted to C123ABC456
	// requests: 2, refreshes: 1
}

// Hand rekey's http.Client to twilio-go, with the auth token sent by rekey
// in HTTP Basic auth as the password of the account SID. twilio-go sets
// Basic auth itself: give it a placeholder of letters and digits, which
// rekey's header replaces. twilio-go does not retry; rekey's layer does.
func Example_twilio() {
	api := startExampleAPI(twilioAPI, "TWILIO_AUTH_TOKEN", "f0e1d2c3") // takes https://api.twilio.com's place
	defer api.report()

	rk, err := rekey.NewClient("https://api.twilio.com",
		rekey.WithCredentials(credentials.Env("TWILIO_AUTH_TOKEN")),
		rekey.WithRefresh(api.mintKey), // for example, promote the secondary auth token
		rekey.WithBasicAuth(transport.BasicKeyAsPassword(twilioSID)),
		rekey.WithReturnResponse(),           // a 401 rekey could not fix becomes *client.TwilioRestError
		rekey.WithTransport(api.transport()), // only here: dials the stand-in API
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	base := &tclient.Client{Credentials: tclient.NewCredentials(twilioSID, "SETBYREKEY"), HTTPClient: rk.HTTPClient()}
	base.SetAccountSid(twilioSID)
	client := twilio.NewRestClientWithParams(twilio.ClientParams{Client: base})

	msg, err := client.Api.CreateMessage((&twilioapi.CreateMessageParams{}).SetTo("+15558675310").SetFrom("+15017122661").SetBody("Hello"))
	var twErr *tclient.TwilioRestError
	if errors.As(err, &twErr) && twErr.Code == 20003 {
		log.Fatal("Twilio rejected the auth token, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*msg.Status)
	// Output:
	// queued
	// requests: 2, refreshes: 1
}

// Hand rekey's http.Client to resty, for Mailgun: the key goes in HTTP
// Basic auth as the password of the user "api". resty retries nothing by
// default; rekey's layer does.
func Example_resty() {
	api := startExampleAPI(mailgunAPI, "MAILGUN_API_KEY", "key-") // stands in for https://api.mailgun.net
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("MAILGUN_API_KEY")),
		rekey.WithRefresh(api.mintKey),
		rekey.WithBasicAuth(transport.BasicKeyAsPassword("api")),
		rekey.WithReturnResponse(), // a 401 rekey could not fix is resty's response, decoded by SetError
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	client := resty.NewWithClient(rk.HTTPClient()).SetBaseURL(api.URL).SetError(&mailgunError{})

	resp, err := client.R().SetFormData(map[string]string{"from": "mailgun@samples.mailgun.org", "to": "jane@example.com", "text": "Hi"}).
		Post("/v3/samples.mailgun.org/messages")
	if err != nil {
		log.Fatal(err)
	}
	if resp.StatusCode() == http.StatusUnauthorized {
		log.Fatal("Mailgun rejected the key, even after a refresh: ", resp.Error().(*mailgunError).Message)
	}
	fmt.Println(resp.Status())
	// Output:
	// 200 OK
	// requests: 2, refreshes: 1
}

// Put go-retryablehttp over rekey's http.Client and turn rekey's retries
// off: go-retryablehttp is the retry layer. Its default policy retries any
// error, rekey's invalid-key error included (in error mode); a CheckRetry
// that stops on rekey.ErrInvalidAPIKey saves those requests.
func Example_retryablehttp() {
	api := startExampleAPI(keyHeaderAPI, "EXAMPLE_API_KEY", "ak_live_") // stands in for https://api.example.com
	defer api.report()

	rk, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Env("EXAMPLE_API_KEY")),
		rekey.WithRefresh(api.mintKey),
		rekey.WithHeader("X-API-Key"),
		rekey.WithoutRetries(),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	client := retryablehttp.NewClient()
	client.HTTPClient = rk.HTTPClient()
	client.Logger = nil
	client.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if errors.Is(err, rekey.ErrInvalidAPIKey) {
			return false, err // rekey refreshed and replayed already
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}

	resp, err := client.Post(api.URL+"/v1/widgets", "application/json", strings.NewReader(`{"name": "sprocket"}`))
	if errors.Is(err, rekey.ErrInvalidAPIKey) {
		log.Fatal("the API rejected the key, even after a refresh")
	} else if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// 201 Created
	// requests: 2, refreshes: 1
}
