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

const checkHelp = `Usage: rekey check --url URL (--key-env NAME | --key-file PATH | --key-cmd CMD) [flags]

Check reads an API key from exactly one source, validates it locally (empty,
too short, whitespace or quotes around it, a pasted "Bearer " prefix, line
breaks or other characters that do not belong in a key), then sends GET URL
with it, as "Authorization: Bearer <key>"; with --header, as the bare key in
that header; with --basic-user or --basic-password, in HTTP Basic auth. It
does not refresh the key and sends no other request.

HTTP Basic auth: --basic-user NAME sends the key as the password of user
NAME (Mailgun: api; Twilio: the account SID; Atlassian: your email).
--basic-password P sends the key as the user name with password P (Stripe:
--basic-password ""; Freshdesk: X). A key sent as the user name must not
contain a colon, and neither form accepts a "user:key" pair encoded by hand:
give the key itself.

It prints one line to stdout:

  valid                  the endpoint accepted the key (2xx)
  invalid: <message>     the endpoint rejected it, with the server's message

and details to stderr: the status and error code, the request ID to quote to
the API's support, the cause when the API names it (invalid, expired or
revoked) and the next step for that cause. The key itself is never printed.
Choose a URL that any valid key may GET, such as the API's "who am I" or
key-status endpoint.

Besides any 401, and a 400 or 403 whose error says the key is invalid,
expired or revoked, check recognises the rejections that need a matcher in
an application (see the README's "Tested against" table): Slack's 200
{"ok": false, "error": "invalid_auth"} and its kin, AWS API Gateway's 403
ForbiddenException, and the Google Maps web services' 200 REQUEST_DENIED
for an invalid or expired key.

Exit status:

  0  valid
  1  invalid: the endpoint rejected the key
  2  usage error or bad input: missing or conflicting flags, a bad URL, plain
     http to a host that is not loopback, no key at the source, a failed
     --key-cmd, or a key that fails local validation (nothing is sent then)
  3  could not check: the endpoint could not be reached, timed out, or
     answered something other than success or the invalid-key rejection

Examples:

  rekey check --url https://api.example.com/v1/me --key-env EXAMPLE_API_KEY
  rekey check --url https://api.example.com/v1/me --key-file /run/secrets/api-key --header X-API-Key
  rekey check --url https://api.example.com/v1/me --key-cmd "op read op://vault/example/key"
  rekey check --url https://api.mailgun.net/v3/domains --key-env MAILGUN_API_KEY --basic-user api
  rekey check --url https://api.stripe.com/v1/balance --key-env STRIPE_SECRET_KEY --basic-password ""
`

// checkConfig is what the check's flags set.
type checkConfig struct {
	url     string
	keyEnv  string
	keyFile string
	keyCmd  string
	header  string
	basicU  optionalString // --basic-user: the key is the password
	basicP  optionalString // --basic-password: the key is the user name
	timeout time.Duration
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
	fs.StringVar(&cfg.url, "url", "", "`URL` to GET with the key (required): http(s)://host/path")
	fs.StringVar(&cfg.keyEnv, "key-env", "", "read the key from the environment variable `NAME`")
	fs.StringVar(&cfg.keyFile, "key-file", "", "read the key from the file at `PATH` (surrounding whitespace is trimmed)")
	fs.StringVar(&cfg.keyCmd, "key-cmd", "", "run `CMD` and read the key from its stdout; CMD is split on spaces, no shell")
	fs.StringVar(&cfg.header, "header", "", "send the bare key in the header `NAME` (such as X-API-Key) instead of Authorization: Bearer")
	fs.Var(&cfg.basicU, "basic-user", "send the key as the HTTP Basic auth password of user `NAME` (Mailgun: api)")
	fs.Var(&cfg.basicP, "basic-password", "send the key as the HTTP Basic auth user name, with password `P` (Stripe: \"\", Freshdesk: X)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "give up after this long, retries included")
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}

	provider, err := cfg.provider()
	if err != nil {
		return usageError(stderr, fs, "%v", err)
	}
	placement, err := cfg.placement()
	if err != nil {
		return usageError(stderr, fs, "%v", err)
	}
	base, path, err := splitURL(cfg.url)
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
		rekey.WithRejection(checkRejection), // check never refreshes, so a broad matcher costs nothing
	}
	opts = append(opts, placement...)
	client, err := rekey.NewClient(base, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "rekey check: %v\n", err)
		return exitUsage
	}
	defer client.Close()

	target := redactURL(cfg.url)
	req, err := client.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		fmt.Fprintf(stderr, "rekey check: %v\n", err)
		return exitUsage
	}
	resp, err := client.Do(req, nil)
	return verdict(stdout, stderr, target, resp, err)
}

// verdict prints the outcome of the GET and returns the exit code.
func verdict(stdout, stderr io.Writer, target string, resp *http.Response, err error) int {
	var apiErr *rekey.APIError
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "valid")
		fmt.Fprintf(stderr, "rekey check: GET %s answered %s%s\n", target, resp.Status, requestID(apierr.Decode(resp.StatusCode, resp.Header, nil).RequestID))
		return exitOK
	case errors.Is(err, rekey.ErrInvalidAPIKey) && errors.As(err, &apiErr):
		fmt.Fprintln(stdout, "invalid: "+serverMessage(apiErr))
		fmt.Fprintf(stderr, "rekey check: GET %s answered %s%s\n", target, strings.TrimSpace(fmt.Sprintf("%d %s", apiErr.StatusCode, apiErr.Code)), requestID(apiErr.RequestID))
		fmt.Fprintf(stderr, "rekey check: cause: %s\n", causeText(apiErr.Cause))
		fmt.Fprintf(stderr, "rekey check: next step: %s\n", nextStep(apiErr.Cause))
		return exitFailed
	case errors.Is(err, rekey.ErrMalformedKey), errors.Is(err, rekey.ErrNoCredentials), errors.Is(err, rekey.ErrInsecureRequest):
		fmt.Fprintf(stderr, "rekey check: %v\n", err) // caught before sending
		return exitUsage
	case errors.As(err, &apiErr):
		fmt.Fprintf(stderr, "rekey check: could not check the key: %v\n", err)
		if apiErr.StatusCode == http.StatusForbidden || apiErr.StatusCode == http.StatusNotFound {
			fmt.Fprintln(stderr, "rekey check: the key may be valid but not for this URL: try an endpoint that any valid key may GET")
		}
		return exitTrouble
	}
	fmt.Fprintf(stderr, "rekey check: could not reach %s: %v\n", target, err)
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
		return "", "", errors.New("--url is required, such as --url https://api.example.com/v1/me")
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
