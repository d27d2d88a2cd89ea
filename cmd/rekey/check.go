package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
	"github.com/rekeyhq/rekey/transport"
)

// checkConfig is what the check's flags set.
type checkConfig struct {
	api      string // --api: a preset from apis.go
	baseURL  string // --base-url: the preset's scheme and host
	listAPIs bool
	url      string
	keyEnv   string
	keyFile  string
	keyCmd   string
	header   string
	basicU   optionalString // --basic-user: the key is the password
	basicP   optionalString // --basic-password: the key is the user name
	timeout  time.Duration
}

// optionalString is a string flag that knows whether it was given, so that
// --basic-password "" differs from no --basic-password.
type optionalString struct {
	value string
	set   bool
}

func (o *optionalString) String() string { return o.value }

func (o *optionalString) Set(v string) error {
	o.value, o.set = v, true
	return nil
}

// errNoRefresh is check's refresh hook's answer: a rejected key is the
// verdict, not something to recover from.
var errNoRefresh = credentials.Permanent(errors.New("rekey check does not refresh keys"))

// runCheckCommand is "rekey check".
func runCheckCommand(args []string, stdout, stderr io.Writer) int {
	var cfg checkConfig
	fs := newFlagSet("check", checkHelp, stdout)
	fs.StringVar(&cfg.api, "api", "", "check a key of the API `NAME` with its documented request (see --list-apis)")
	fs.StringVar(&cfg.baseURL, "base-url", "", "with --api: send the request to `URL` (scheme, host, optional path prefix) instead of the API's own")
	fs.BoolVar(&cfg.listAPIs, "list-apis", false, "list the APIs --api knows: name, request, where the key goes, and what else they need")
	fs.StringVar(&cfg.url, "url", "", "`URL` to GET with the key, unless --api names the API: http(s)://host/path")
	fs.StringVar(&cfg.keyEnv, "key-env", "", "read the key from the environment variable `NAME`")
	fs.StringVar(&cfg.keyFile, "key-file", "", "read the key from the file at `PATH` (surrounding whitespace is trimmed)")
	fs.StringVar(&cfg.keyCmd, "key-cmd", "", "run `CMD` and read the key from its stdout; CMD is split on spaces, no shell")
	fs.StringVar(&cfg.header, "header", "", "send the bare key in the header `NAME` (such as X-API-Key) instead of Authorization: Bearer")
	fs.Var(&cfg.basicU, "basic-user", "send the key as the HTTP Basic auth password of user `NAME` (Mailgun: api; with --api, the user a preset needs, such as Twilio's account SID)")
	fs.Var(&cfg.basicP, "basic-password", "send the key as the HTTP Basic auth user name, with password `P` (Stripe: \"\", Freshdesk: X)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "give up after this long, retries included")
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}

	if cfg.listAPIs {
		listAPIs(stdout)
		return exitOK
	}

	provider, err := cfg.provider()
	if err != nil {
		return usageError(stderr, fs, "%v", err)
	}
	creq, err := cfg.request()
	if err != nil {
		return usageError(stderr, fs, "%v", err)
	}
	base, path, err := splitURL(creq.url)
	if err != nil {
		return usageError(stderr, fs, "%v", err)
	}
	if cfg.timeout <= 0 {
		return usageError(stderr, fs, "--timeout %v: want a positive duration", cfg.timeout)
	}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	// Locally first: the provider validates the key it reads.
	cred, err := provider.Retrieve(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "rekey check: %v\n", err)
		return exitUsage
	}

	opts := []rekey.Option{
		rekey.WithCredentials(credentials.Static(cred.Key)), // the key just read: the source is not read twice
		rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{}, errNoRefresh
		}),
		rekey.WithRetryPolicy(transport.RetryPolicy{MaxAttempts: 3, MinWait: 100 * time.Millisecond, MaxWait: time.Second}),
		rekey.WithTimeout(cfg.timeout),
		rekey.WithUserAgent("rekey-check"),
		rekey.WithRejection(creq.reject), // check never refreshes, so a broad matcher costs nothing
	}
	opts = append(opts, creq.place...)
	client, err := rekey.NewClient(base, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "rekey check: %v\n", err)
		return exitUsage
	}
	defer client.Close()

	var body any // nil: no body (a []byte(nil) would be an empty one)
	if creq.body != nil {
		body = creq.body
	}
	req, err := client.NewRequest(ctx, creq.method, path, body)
	if err != nil {
		fmt.Fprintf(stderr, "rekey check: %v\n", err)
		return exitUsage
	}
	for k, v := range creq.headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req, nil)
	return verdict(stdout, stderr, creq, resp, err)
}

// request returns the request the flags describe: a preset's (--api) or
// GET --url with the key where --header or --basic-* say.
func (cfg *checkConfig) request() (checkRequest, error) {
	if cfg.api != "" {
		return cfg.presetRequest()
	}
	if cfg.baseURL != "" {
		return checkRequest{}, errors.New("--base-url goes with --api; with --url, give the whole URL")
	}
	if cfg.url == "" {
		return checkRequest{}, errNoAPI
	}
	place, err := cfg.placement()
	if err != nil {
		return checkRequest{}, err
	}
	return checkRequest{
		method: http.MethodGet,
		url:    cfg.url,
		place:  place,
		reject: checkRejection,
		hint:   "the key may be valid but not for this URL: try an endpoint that any valid key may GET",
	}, nil
}

// verdict prints the outcome of the request and returns the exit code.
func verdict(stdout, stderr io.Writer, creq checkRequest, resp *http.Response, err error) int {
	target := creq.method + " " + redactURL(creq.url)
	var apiErr *rekey.APIError
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "valid")
		fmt.Fprintf(stderr, "rekey check: %s answered %s%s\n", target, resp.Status, requestID(apierr.Decode(resp.StatusCode, resp.Header, nil).RequestID))
		return exitOK
	case errors.Is(err, rekey.ErrInvalidAPIKey) && errors.As(err, &apiErr):
		fmt.Fprintln(stdout, "invalid: "+serverMessage(apiErr))
		fmt.Fprintf(stderr, "rekey check: %s answered %s%s\n", target, strings.TrimSpace(fmt.Sprintf("%d %s", apiErr.StatusCode, apiErr.Code)), requestID(apiErr.RequestID))
		fmt.Fprintf(stderr, "rekey check: cause: %s\n", causeText(apiErr.Cause))
		fmt.Fprintf(stderr, "rekey check: next step: %s\n", nextStep(apiErr.Cause))
		return exitFailed
	case errors.Is(err, rekey.ErrMalformedKey), errors.Is(err, rekey.ErrNoCredentials), errors.Is(err, rekey.ErrInsecureRequest):
		fmt.Fprintf(stderr, "rekey check: %v\n", err) // caught before sending
		return exitUsage
	case errors.As(err, &apiErr):
		fmt.Fprintf(stderr, "rekey check: could not check the key: %v\n", err)
		if apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden || apiErr.StatusCode == http.StatusNotFound {
			fmt.Fprintln(stderr, "rekey check: "+creq.hint)
		}
		return exitTrouble
	}
	fmt.Fprintf(stderr, "rekey check: could not reach %s: %v\n", redactURL(creq.url), err)
	return exitTrouble
}

// provider returns the key source named by exactly one --key-* flag.
func (cfg *checkConfig) provider() (credentials.Provider, error) {
	var set []string
	var p credentials.Provider
	if cfg.keyEnv != "" {
		set, p = append(set, "--key-env"), credentials.Env(cfg.keyEnv)
	}
	if cfg.keyFile != "" {
		set, p = append(set, "--key-file"), credentials.File(cfg.keyFile)
	}
	if cfg.keyCmd != "" {
		args := strings.Fields(cfg.keyCmd)
		if len(args) == 0 {
			return nil, errors.New("--key-cmd is blank: name a command, such as --key-cmd \"op read op://vault/example/key\"")
		}
		set, p = append(set, "--key-cmd"), credentials.Exec(args[0], args[1:]...)
	}
	switch len(set) {
	case 0:
		return nil, errors.New("no key source: pass one of --key-env NAME, --key-file PATH or --key-cmd CMD")
	case 1:
		return p, nil
	}
	return nil, fmt.Errorf("%s conflict: pass exactly one key source", strings.Join(set, " and "))
}

// placement returns the options that put the key where the flags say: the
// default Authorization: Bearer, --header, or HTTP Basic auth.
func (cfg *checkConfig) placement() ([]rekey.Option, error) {
	var set []string
	var opts []rekey.Option
	if cfg.header != "" {
		set, opts = append(set, "--header"), []rekey.Option{rekey.WithHeader(cfg.header)}
	}
	if cfg.basicU.set {
		set, opts = append(set, "--basic-user"), []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsPassword(cfg.basicU.value))}
	}
	if cfg.basicP.set {
		set, opts = append(set, "--basic-password"), []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsUser(cfg.basicP.value))}
	}
	if len(set) > 1 {
		return nil, fmt.Errorf("%s conflict: the key goes in one place (--basic-user NAME: the key is the password; --basic-password P: the key is the user name)", strings.Join(set, " and "))
	}
	return opts, nil
}

// splitURL splits an endpoint URL into the base URL for rekey.NewClient
// (scheme, user information if any, host) and the path and query to GET.
func splitURL(raw string) (base, path string, err error) {
	if raw == "" {
		return "", "", errNoAPI
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("--url: %v", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fmt.Errorf("--url %s: want an absolute http or https URL, such as https://api.example.com/v1/me", redactURL(raw))
	}
	b := url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}
	ref := url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if ref.Path == "" {
		ref.Path = "/"
	}
	return b.String(), ref.String(), nil
}

// redactURL renders raw with its scheme, host and path only: a query or
// user information may carry a secret.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}

// serverMessage is the server's own words about the rejection.
func serverMessage(e *rekey.APIError) string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Code != "":
		return e.Code
	}
	return fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// checkRejection recognises what the default matcher does and the
// rejections of the APIs in rekey's corpus that need a matcher of their own.
var checkRejection = transport.AnyOf(
	transport.IsInvalidKeyRejection,
	transport.OKFalse(transport.SlackCodes...),
	transport.GraphQL(),
	transport.StatusHeader(http.StatusForbidden, "X-Amzn-Errortype", "ForbiddenException"),
	transport.StatusBody(http.StatusOK, "The provided API key is invalid."),
	transport.StatusBody(http.StatusOK, "The provided API key is expired."),
)

// causeText explains a cause in a line.
func causeText(c rekey.KeyCause) string {
	switch c {
	case rekey.CauseInvalid:
		return "invalid: the API does not recognise the key"
	case rekey.CauseExpired:
		return "expired: the key was valid and has expired"
	case rekey.CauseRevoked:
		return "revoked: the key was revoked or disabled, or its owner deactivated"
	}
	return "unknown: the API did not say whether the key is mistyped, expired or revoked"
}

// nextStep is the runbook's next step for a cause.
func nextStep(c rekey.KeyCause) string {
	switch c {
	case rekey.CauseInvalid:
		return "fix the copy: compare the key with the one in the provider's dashboard (a missing or extra character, another account or environment, a test key against live); if it was never valid there, generate a new key"
	case rekey.CauseExpired:
		return "generate a new key in the provider's dashboard (or let the refresh hook mint one) and update the application; consider a key with a longer lifetime or rotating before expiry"
	case rekey.CauseRevoked:
		return "check the key's status in the provider's dashboard and who revoked it (a revoked key may mean it leaked: look at recent usage), then generate a new key and update the application"
	}
	return "check the key's status in the provider's dashboard: if it is active, fix the copy; if it expired or was revoked, generate a new key and update the application"
}

func requestID(id string) string {
	if id == "" {
		return ""
	}
	return " (request ID " + id + ")"
}
