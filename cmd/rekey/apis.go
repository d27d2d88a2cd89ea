package main

import "github.com/rekeyhq/rekey/transport"

// apiPreset is what "rekey check --api NAME" knows about one API: a
// documented, cheap, read-only request that any valid key of the usual kind
// may make (a "who am I", key-status, account or model-list endpoint), where
// the key goes, any other header the API requires, and the matcher its
// rejections need. Every preset checks APIs of the corpus in
// internal/apierr/testdata/rejections (Corpus holds their "api" values), and
// Doc cites the vendor's documentation of the request.
type apiPreset struct {
	Name   string   // the --api value
	Corpus []string // the corpus's "api" values this preset checks
	Doc    string   // the vendor's documentation of the request

	Method string // "" means GET
	Base   string // scheme and host; with NeedsBase, the form of the --base-url to give
	Path   string // path and fixed query; {user} stands for --basic-user
	Body   string // JSON body, for a POST that needs one

	// NeedsBase, if set, makes --base-url required and says what it is.
	NeedsBase string

	// Where the key goes: in Authorization after Scheme ("" means Bearer,
	// transport.NoScheme the bare key), in Header, in the Query parameter,
	// or in HTTP Basic auth: as the password of BasicUser, as the password of
	// --basic-user (NeedsUser says what that is, and makes it required), or
	// as the user name with an empty password (KeyAsUser).
	Header, Scheme, Query string
	BasicUser             string
	NeedsUser             string
	KeyAsUser             bool

	Headers map[string]string // other headers the API requires
	Matcher string            // the matcher the corpus names for this API: "", "slack" or "graphql"
	Rejects int               // a status that, at this endpoint, only a rejected key gets
	Note    string            // what a narrower key needs, or what else to know
}

// apiPresets are the APIs "rekey check --api" knows, by name.
var apiPresets = []apiPreset{
	{Name: "airtable", Corpus: []string{"Airtable Web API"}, Doc: "https://airtable.com/developers/web/api/get-user-id-scopes",
		Base: "https://api.airtable.com", Path: "/v0/meta/whoami"},
	{Name: "amocrm", Corpus: []string{"amoCRM API"}, Doc: "https://www.amocrm.ru/developers/content/crm_platform/account-info",
		Base: "https://SUBDOMAIN.amocrm.ru", NeedsBase: "your account's address, such as https://SUBDOMAIN.amocrm.ru", Path: "/api/v4/account"},
	{Name: "anthropic", Corpus: []string{"Anthropic"}, Doc: "https://platform.claude.com/docs/en/api/models",
		Base: "https://api.anthropic.com", Path: "/v1/models", Header: "x-api-key",
		Headers: map[string]string{"anthropic-version": "2023-06-01"}},
	{Name: "azure-openai", Corpus: []string{"Azure OpenAI"}, Doc: "https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list",
		Base: "https://RESOURCE.openai.azure.com", NeedsBase: "your resource's endpoint, such as https://RESOURCE.openai.azure.com",
		Path: "/openai/models?api-version=2024-10-21", Header: "api-key"},
	{Name: "brevo", Corpus: []string{"Brevo (Sendinblue) API"}, Doc: "https://developers.brevo.com/reference/get-account",
		Base: "https://api.brevo.com", Path: "/v3/account", Header: "api-key"},
	{Name: "cloudflare", Corpus: []string{"Cloudflare API"}, Doc: "https://developers.cloudflare.com/api/resources/user/subresources/tokens/methods/verify/",
		Base: "https://api.cloudflare.com", Path: "/client/v4/user/tokens/verify",
		Note: "for user API tokens; a Global API Key is not a token"},
	{Name: "cohere", Corpus: []string{"Cohere"}, Doc: "https://docs.cohere.com/reference/check-api-key",
		Method: "POST", Base: "https://api.cohere.com", Path: "/v1/check-api-key"},
	{Name: "contentful", Corpus: []string{"Contentful Content Management API"}, Doc: "https://www.contentful.com/developers/docs/references/content-management-api/#/reference/users/user/get-the-authenticated-user",
		Base: "https://api.contentful.com", Path: "/users/me"},
	{Name: "datadog", Corpus: []string{"Datadog"}, Doc: "https://docs.datadoghq.com/api/latest/authentication/validate-api-key/",
		Base: "https://api.datadoghq.com", Path: "/api/v1/validate", Header: "DD-API-KEY", Rejects: 403,
		Note: "an API key, not an application key; other sites: --base-url https://api.datadoghq.eu, ..."},
	{Name: "deepgram", Corpus: []string{"Deepgram API"}, Doc: "https://developers.deepgram.com/docs/authenticating",
		Base: "https://api.deepgram.com", Path: "/v1/auth/token", Scheme: "Token"},
	{Name: "deepseek", Corpus: []string{"DeepSeek API"}, Doc: "https://api-docs.deepseek.com/api/get-user-balance",
		Base: "https://api.deepseek.com", Path: "/user/balance"},
	{Name: "digitalocean", Corpus: []string{"DigitalOcean API"}, Doc: "https://docs.digitalocean.com/reference/api/scopes/account/read",
		Base: "https://api.digitalocean.com", Path: "/v2/account",
		Note: "a custom-scoped token needs account:read"},
	{Name: "dropbox", Corpus: []string{"Dropbox API"}, Doc: "https://www.dropbox.com/developers/documentation/http/documentation#users-get_current_account",
		Method: "POST", Base: "https://api.dropboxapi.com", Path: "/2/users/get_current_account",
		Note: "needs the account_info.read scope, which every app has"},
	{Name: "elasticsearch", Corpus: []string{"Elasticsearch", "Elasticsearch (Elastic Cloud)"}, Doc: "https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-security-authenticate",
		Base: "https://DEPLOYMENT.es.REGION.cloud.es.io", NeedsBase: "your cluster's address, such as https://DEPLOYMENT.es.REGION.cloud.es.io",
		Path: "/_security/_authenticate", Scheme: "ApiKey"},
	{Name: "elevenlabs", Corpus: []string{"ElevenLabs API"}, Doc: "https://elevenlabs.io/docs/api-reference/user/get-user",
		Base: "https://api.elevenlabs.io", Path: "/v1/user", Header: "xi-api-key",
		Note: "a key with restricted permissions needs user_read"},
	{Name: "facebook", Corpus: []string{"Facebook Graph API"}, Doc: "https://developers.facebook.com/docs/graph-api/overview#me",
		Base: "https://graph.facebook.com", Path: "/me", Query: "access_token",
		Note: "a user or Page access token; an app access token has no /me"},
	{Name: "gemini", Corpus: []string{"Google Gemini API"}, Doc: "https://ai.google.dev/api/rest/v1beta/models/list",
		Base: "https://generativelanguage.googleapis.com", Path: "/v1beta/models", Header: "x-goog-api-key"},
	{Name: "github", Corpus: []string{"GitHub REST API"}, Doc: "https://docs.github.com/en/rest/users/users#get-the-authenticated-user",
		Base: "https://api.github.com", Path: "/user",
		Note: "a personal access token; a GitHub App installation token has no user"},
	{Name: "github-graphql", Corpus: []string{"GitHub GraphQL API"}, Doc: "https://docs.github.com/en/graphql/guides/forming-calls-with-graphql",
		Method: "POST", Base: "https://api.github.com", Path: "/graphql", Body: `{"query":"query { viewer { login } }"}`,
		Matcher: "graphql"},
	{Name: "gitlab", Corpus: []string{"GitLab REST API"}, Doc: "https://docs.gitlab.com/api/personal_access_tokens/",
		Base: "https://gitlab.com", Path: "/api/v4/personal_access_tokens/self",
		Note: "personal, project and group access tokens; self-managed: --base-url https://gitlab.example.com"},
	{Name: "gorgias", Corpus: []string{"Gorgias API"}, Doc: "https://developers.gorgias.com/reference/authentication-1",
		Base: "https://DOMAIN.gorgias.com", NeedsBase: "your helpdesk, such as https://DOMAIN.gorgias.com",
		Path: "/api/account", NeedsUser: "the email address of the key's user",
		Note: "a private app's API key; for an OAuth token use --url"},
	{Name: "huggingface", Corpus: []string{"Hugging Face Inference API"}, Doc: "https://huggingface.co/docs/hub/api",
		Base: "https://huggingface.co", Path: "/api/whoami-v2"},
	{Name: "intercom", Corpus: []string{"Intercom API"}, Doc: "https://developers.intercom.com/docs/references/rest-api/api.intercom.io/admins/identifyadmin",
		Base: "https://api.intercom.io", Path: "/me",
		Note: "EU and Australian workspaces: --base-url https://api.eu.intercom.io or https://api.au.intercom.io"},
	{Name: "jira", Corpus: []string{"Jira Cloud REST API"}, Doc: "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/",
		Base: "https://SITE.atlassian.net", NeedsBase: "your Jira site, such as https://SITE.atlassian.net",
		Path: "/rest/api/3/myself", NeedsUser: "your Atlassian account's email address"},
	{Name: "jira-server", Corpus: []string{"Jira Server"}, Doc: "https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/myself",
		Base: "https://jira.example.com", NeedsBase: "your Jira server, such as https://jira.example.com",
		Path: "/rest/api/2/myself", Note: "a personal access token (Jira Server and Data Center 8.14 and later)"},
	{Name: "mailchimp", Corpus: []string{"Mailchimp Marketing API"}, Doc: "https://mailchimp.com/developer/marketing/api/ping/",
		Base: "https://DC.api.mailchimp.com", NeedsBase: "your data center's API, such as https://us6.api.mailchimp.com for a key ending in -us6",
		Path: "/3.0/ping", BasicUser: "anystring"},
	{Name: "mailgun", Corpus: []string{"Mailgun"}, Doc: "https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/domains",
		Base: "https://api.mailgun.net", Path: "/v3/domains", BasicUser: "api",
		Note: "an account API key; EU: --base-url https://api.eu.mailgun.net"},
	{Name: "mapbox", Corpus: []string{"Mapbox API"}, Doc: "https://docs.mapbox.com/api/accounts/tokens/#retrieve-a-token",
		Base: "https://api.mapbox.com", Path: "/tokens/v2", Query: "access_token"},
	{Name: "mastodon", Corpus: []string{"Mastodon API"}, Doc: "https://docs.joinmastodon.org/methods/apps/#verify_credentials",
		Base: "https://INSTANCE", NeedsBase: "your server, such as https://mastodon.social", Path: "/api/v1/apps/verify_credentials"},
	{Name: "mistral", Corpus: []string{"Mistral AI"}, Doc: "https://docs.mistral.ai/api/#tag/models/operation/list_models_v1_models_get",
		Base: "https://api.mistral.ai", Path: "/v1/models"},
	{Name: "newrelic", Corpus: []string{"New Relic NerdGraph (GraphQL)"}, Doc: "https://docs.newrelic.com/docs/apis/nerdgraph/get-started/nerdgraph-explorer/",
		Method: "POST", Base: "https://api.newrelic.com", Path: "/graphql", Body: `{"query":"{ actor { user { name email } } }"}`,
		Header: "API-Key", Note: "a user key (NRAK-); EU: --base-url https://api.eu.newrelic.com"},
	{Name: "notion", Corpus: []string{"Notion API"}, Doc: "https://developers.notion.com/reference/get-self",
		Base: "https://api.notion.com", Path: "/v1/users/me", Headers: map[string]string{"Notion-Version": "2022-06-28"}},
	{Name: "octopus", Corpus: []string{"Octopus Energy (Kraken) GraphQL API"}, Doc: "https://developer.octopus.energy/guides/graphql/api-basics/",
		Method: "POST", Base: "https://api.octopus.energy", Path: "/v1/graphql/", Body: `{"query":"query { viewer { id } }"}`,
		Scheme: transport.NoScheme, Matcher: "graphql", Note: "a Kraken token (from obtainKrakenToken), not the REST API key"},
	{Name: "okta", Corpus: []string{"Okta API"}, Doc: "https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/#tag/User/operation/getUser",
		Base: "https://ORG.okta.com", NeedsBase: "your Okta org, such as https://ORG.okta.com", Path: "/api/v1/users/me", Scheme: "SSWS"},
	{Name: "onfleet", Corpus: []string{"Onfleet API"}, Doc: "https://docs.onfleet.com/docs/authentication",
		Base: "https://onfleet.com", Path: "/api/v2/auth/test", KeyAsUser: true},
	{Name: "openai", Corpus: []string{"OpenAI", "OpenAI API (Cloudflare block page)"}, Doc: "https://platform.openai.com/docs/api-reference/models/list",
		Base: "https://api.openai.com", Path: "/v1/models"},
	{Name: "paddle", Corpus: []string{"Paddle Billing API"}, Doc: "https://developer.paddle.com/api-reference/about/",
		Base: "https://api.paddle.com", Path: "/event-types",
		Note: "needs no permission; sandbox: --base-url https://sandbox-api.paddle.com"},
	{Name: "paystack", Corpus: []string{"Paystack API"}, Doc: "https://paystack.com/docs/api/transfer-control/#balance",
		Base: "https://api.paystack.co", Path: "/balance", Note: "a secret key"},
	{Name: "perplexity", Corpus: []string{"Perplexity API"}, Doc: "https://docs.perplexity.ai/api-reference/gateway-models-get",
		Base: "https://api.perplexity.ai", Path: "/router/v1/models"},
	{Name: "postmark", Corpus: []string{"Postmark"}, Doc: "https://postmarkapp.com/developer/api/server-api",
		Base: "https://api.postmarkapp.com", Path: "/server", Header: "X-Postmark-Server-Token", Note: "a server token"},
	{Name: "salesforce", Corpus: []string{"Salesforce REST API"}, Doc: "https://developer.salesforce.com/docs/platform/api-rest/guide/resources-discoveryresource.html",
		Base: "https://MYDOMAIN.my.salesforce.com", NeedsBase: "your org's My Domain, such as https://MYDOMAIN.my.salesforce.com",
		Path: "/services/data/v62.0/"},
	{Name: "sendgrid", Corpus: []string{"SendGrid"}, Doc: "https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access",
		Base: "https://api.sendgrid.com", Path: "/v3/scopes"},
	{Name: "shopify", Corpus: []string{"Shopify Admin API"}, Doc: "https://shopify.dev/docs/api/admin-rest/latest/resources/accessscope",
		Base: "https://SHOP.myshopify.com", NeedsBase: "your shop, such as https://SHOP.myshopify.com",
		Path: "/admin/oauth/access_scopes.json", Header: "X-Shopify-Access-Token"},
	{Name: "slack", Corpus: []string{"Slack Web API"}, Doc: "https://docs.slack.dev/reference/methods/auth.test",
		Method: "POST", Base: "https://slack.com", Path: "/api/auth.test", Matcher: "slack"},
	{Name: "square", Corpus: []string{"Square API"}, Doc: "https://developer.squareup.com/docs/merchants-api",
		Base: "https://connect.squareup.com", Path: "/v2/merchants/me",
		Note: "an OAuth token needs MERCHANT_PROFILE_READ; sandbox: --base-url https://connect.squareupsandbox.com"},
	{Name: "stripe", Corpus: []string{"Stripe"}, Doc: "https://docs.stripe.com/api/balance/balance_retrieve",
		Base: "https://api.stripe.com", Path: "/v1/balance", Note: "a restricted key needs Balance read"},
	{Name: "supabase", Corpus: []string{"Supabase API"}, Doc: "https://github.com/supabase/auth#get-settings",
		Base: "https://PROJECT.supabase.co", NeedsBase: "your project's URL, such as https://PROJECT.supabase.co",
		Path: "/auth/v1/settings", Header: "apikey"},
	{Name: "twilio", Corpus: []string{"Twilio"}, Doc: "https://www.twilio.com/docs/iam/api/account",
		Base: "https://api.twilio.com", Path: "/2010-04-01/Accounts/{user}.json", NeedsUser: "your account SID (AC...), with the Auth Token as the key"},
	{Name: "twitch", Corpus: []string{"Twitch Helix API"}, Doc: "https://dev.twitch.tv/docs/authentication/validate-tokens/",
		Base: "https://id.twitch.tv", Path: "/oauth2/validate", Scheme: "OAuth"},
	{Name: "vercel", Corpus: []string{"Vercel REST API"}, Doc: "https://vercel.com/docs/rest-api/user/get-the-user",
		Base: "https://api.vercel.com", Path: "/v2/user"},
	{Name: "zendesk", Corpus: []string{"Zendesk API"}, Doc: "https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self",
		Base: "https://SUBDOMAIN.zendesk.com", NeedsBase: "your Zendesk, such as https://SUBDOMAIN.zendesk.com",
		Path: "/api/v2/users/me.json", NeedsUser: "your email address followed by /token, such as you@example.com/token",
		Note: "an API token; for an OAuth token use --url"},
}

// apisWithoutPreset are the APIs of the corpus that "rekey check --api" has
// no preset for, and why: each lacks a documented, cheap, read-only request
// that a valid key may make and that rekey check can send.
var apisWithoutPreset = map[string]string{
	"Adyen API":                               "the credential-details endpoint (Management API GET /me) needs a Management API role that a payments key may lack",
	"Algolia":                                 "the key-status endpoint takes the key in the URL path and needs the application ID in the host and a header",
	"Apigee API proxies (VerifyAPIKey)":       "a gateway: which request a key may make is up to the proxy's owner",
	"AWS API Gateway (REST API keys)":         "a gateway: which request a key may make is up to the API's owner",
	"Amazon DynamoDB":                         "requests are signed with AWS Signature Version 4, not sent with a key",
	"AWS IAM (query API)":                     "requests are signed with AWS Signature Version 4, not sent with a key",
	"Amazon S3":                               "requests are signed with AWS Signature Version 4, not sent with a key",
	"Azure API Management":                    "a gateway: which request a subscription key may make is up to the API's owner",
	"Azure Blob Storage":                      "requests carry a Microsoft Entra token or a Shared Key signature, and have no who-am-I",
	"Backblaze B2 API":                        "the corpus's credential is the session token from b2_authorize_account, and no request checks it alone",
	"Binance API":                             "every account endpoint needs an HMAC signature made with the secret key",
	"Google Identity Toolkit (Firebase Auth)": "the API key is a project identifier, and no documented endpoint reports on it",
	"Google Maps Platform web services":       "no key-status endpoint: every request is a billed data request",
	"HERE Location Services":                  "no key-status endpoint: every request is a billed data request",
	"HubSpot API":                             "the account-details endpoint needs the oauth scope, and the token-info endpoint takes the token in the URL path",
	"Hyperswitch (Juspay) API":                "no documented endpoint reports on the key; merchant endpoints need an account ID and an admin key",
	"LinkedIn API":                            "the who-am-I endpoints need the openid or profile scope, and token introspection needs the app's client secret",
	"Microsoft Graph API":                     "GET /me needs a delegated user token; an app-only token has no /me",
	"News API":                                "no key-status endpoint: every request counts against the key's daily quota",
	"OpenWeatherMap API":                      "no key-status endpoint: every request is a metered data request",
	"Plaid API":                               "the client ID and secret go in the JSON body of each request, not in a header",
	"Plain GraphQL API":                       "keys carry fine-grained permissions, and no documented query needs none",
	"Razorpay API":                            "no key-status endpoint: every endpoint reads or writes payments data",
	"Resend API":                              "no who-am-I endpoint, and a sending-only key may call nothing but the send endpoints",
	"Sentry API":                              "no documented endpoint that any token may call (an organization token has only org:ci)",
	"Spotify Web API":                         "GET /v1/me needs a user token, and GET /v1/markets, which any token may call, is deprecated for Development Mode apps (February 2026)",
	"Telegram Bot API":                        "the token goes in the URL path (/bot<token>/getMe), where rekey does not put keys",
	"Trello REST API":                         "a request needs both the API key and the token",
	"X (Twitter) API v2":                      "GET /2/users/me needs a user-context token, and every read is billed",
	"WSO2 API Manager gateway":                "a gateway: which request a token may make is up to the API's owner",
	"YouTube Data API v3":                     "the API key has no who-am-I (channels?mine needs OAuth), and every request costs quota",
	"Zoho CRM API":                            "the current-user and org endpoints need a ZohoCRM scope that a token may lack",
	"Zoom API":                                "GET /v2/users/me needs a user:read scope that a server-to-server token may lack",
}
