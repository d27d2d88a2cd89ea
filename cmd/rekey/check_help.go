package main

// checkHelp is "rekey check --help".
const checkHelp = `Usage: rekey check (--api NAME | --url URL) (--key-env NAME | --key-file PATH | --key-cmd CMD) [flags]
       rekey check --list-apis

Check reads an API key from exactly one source, validates it locally (empty,
too short, whitespace or quotes around it, a pasted "Bearer " prefix, line
breaks or other characters that do not belong in a key), then sends one
request with it and tells whether the API accepted the key. It does not
refresh the key and sends no other request.

With --api NAME, check knows the request: for each API it has a documented,
cheap, read-only "who am I", key-status, account or model-list endpoint that
a valid key may call, where the key goes, any header the API requires, and
how the API says a key is rejected. rekey check --list-apis prints them.
--base-url replaces the scheme and host (another region, a sandbox, your own
server or site); APIs that live on your own host (Jira, Okta, Zendesk, ...)
need it, and those that take a user name with the key (Twilio's account SID,
your Atlassian email) need --basic-user.

With --url URL, check sends GET URL with the key as "Authorization: Bearer
<key>"; with --header, as the bare key in that header; with --basic-user or
--basic-password, in HTTP Basic auth. Choose a URL that any valid key may
GET, such as the API's "who am I" or key-status endpoint.

HTTP Basic auth: --basic-user NAME sends the key as the password of user
NAME (Mailgun: api; Twilio: the account SID; Atlassian: your email).
--basic-password P sends the key as the user name with password P (Stripe:
--basic-password ""; Freshdesk: X). A key sent as the user name must not
contain a colon, and neither form accepts a "user:key" pair encoded by hand:
give the key itself.

It prints one line to stdout:

  valid                  the API accepted the key (2xx)
  invalid: <message>     the API rejected it, with the server's message

and details to stderr: the status and error code, the request ID to quote to
the API's support, the cause when the API names it (invalid, expired or
revoked) and the next step for that cause. The key itself is never printed.

Besides a 401 (unless it is only about scope, permission or quota), and a
400 or 403 whose error says the key is invalid, expired or revoked, check
recognises the rejections that need a matcher in an application (see
docs/tested-against.md): Slack's 200 {"ok": false, "error": "invalid_auth"}
and its kin, a GraphQL 200 whose errors say UNAUTHENTICATED, AWS API
Gateway's 403 ForbiddenException, and the Google Maps web services' 200
REQUEST_DENIED for an invalid or expired key. With --api, it reads the
answer as that API writes it (Datadog's validate endpoint answers a bad key
with a bare 403).

Exit status:

  0  valid
  1  invalid: the API rejected the key
  2  usage error or bad input: missing or conflicting flags, an unknown
     --api, a bad URL, plain http to a host that is not loopback, no key at
     the source, a failed --key-cmd, or a key that fails local validation
     (nothing is sent then)
  3  could not check: the API could not be reached, timed out, or answered
     something other than success or the invalid-key rejection

Examples:

  rekey check --api openai --key-env OPENAI_API_KEY
  rekey check --api stripe --key-file /run/secrets/stripe-key
  rekey check --api twilio --key-env TWILIO_AUTH_TOKEN --basic-user ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
  rekey check --api jira --key-env JIRA_API_TOKEN --base-url https://example.atlassian.net --basic-user you@example.com
  rekey check --api mailgun --key-env MAILGUN_API_KEY --base-url https://api.eu.mailgun.net
  rekey check --url https://api.example.com/v1/me --key-env EXAMPLE_API_KEY
  rekey check --url https://api.example.com/v1/me --key-file /run/secrets/api-key --header X-API-Key
  rekey check --url https://api.example.com/v1/me --key-cmd "op read op://vault/example/key"
  rekey check --url https://api.mailgun.net/v3/domains --key-env MAILGUN_API_KEY --basic-user api
`
