package apierr

// The words the recognition and cause rules read, by meaning. Every word
// is lowercase, as words() returns it.

// keyNouns name the credential itself.
var keyNouns = set("token", "tokens", "credential", "credentials", "apikey", "apikeys",
	"secret", "session", "auth", "jwt", "bearer")

// tokenCountWords, in one identifier with "token" or "tokens", say that
// the tokens are units of text being counted (a language model's
// "max_tokens", "input_tokens", "token_count", "tokens_per_min").
var tokenCountWords = set("max", "min", "maximum", "minimum", "input", "output", "prompt",
	"completion", "count", "limit", "total", "usage", "used", "remaining", "per", "num",
	"number", "context", "length", "budget", "thinking", "cached", "reasoning")

// keyQualifiers may precede "key" when it means the credential ("API key",
// "the key", "invalid key"), and nothing else may: "idempotency key",
// "metadata key" and "the specified key" (an object's name) are not
// credentials.
var keyQualifiers = set("api", "access", "secret", "private", "public", "subscription",
	"license", "licence", "developer", "app", "application", "account", "auth", "client",
	"service", "master", "publishable", "restricted", "live", "test", "sandbox", "server",
	"user", "personal", "project", "sending", "the", "a", "an", "your", "this", "that", "my",
	"provided", "given", "supplied", "invalid", "expired", "revoked", "wrong", "incorrect",
	"unknown", "bad", "valid", "same", "new", "old", "current")

// codeSubjects are what an error code may name as expired, revoked or
// invalid for the code to say something about the key: the credential,
// or the authentication, account or user behind it ("EXPIRED_AUTHENTICATION",
// "account_inactive"), but not the request ("invalid_request_error").
var codeSubjects = set("authentication", "login", "account", "user", "client", "app", "application")

// States: the words that say what happened to the key.
var (
	expiredWords = set("expired")
	revokedWords = set("revoked", "disabled", "deactivated", "deleted", "inactive",
		"suspended", "invalidated")
	invalidWords = set("invalid", "incorrect", "malformed", "unknown", "unrecognized",
		"unrecognised", "wrong")
	// negations turn the words after them into a state: "not valid" and
	// "does not exist" are invalid, "no longer active" is revoked.
	negations      = set("not", "no", "doesn", "isn", "don", "cannot", "couldn")
	negatedInvalid = set("valid", "found", "exist", "exists", "recognized", "recognised")
	negatedRevoked = set("active", "enabled")
	negatedMissing = set("provided", "present", "supplied", "included", "sent")
	missingWords   = set("missing", "absent")
	hedgeWords     = set("may", "might", "possibly", "perhaps", "either")
)

// alternativeWord joins alternatives: "invalid key or wrong endpoint".
const alternativeWord = "or"

// otherSubjects, named as an alternative to the key ("invalid API key, IP,
// or permissions", "invalid subscription key or wrong API endpoint"),
// leave the cause open.
var otherSubjects = set("ip", "ips", "permission", "permissions", "scope", "scopes",
	"privilege", "privileges", "endpoint", "url", "datacenter", "region", "domain",
	"origin", "referer", "referrer")

// vetoWords are about what a valid key may do, not about the key being
// bad: scope, permission, plan, quota, IP, region, rate limit. A new key
// from the same account would be refused the same way, so a response that
// speaks of them is not refreshed (see Classify).
var vetoWords = set("scope", "scopes", "permission", "permissions", "privilege", "privileges",
	"plan", "plans", "quota", "quotas", "ip", "ips", "region", "regions", "restricted",
	"restriction", "restrictions", "referer", "referrer", "billing", "whitelist",
	"whitelisted", "allowlist", "allowlisted")

// rateLimitWords follow "rate" when it means a rate limit.
var rateLimitWords = set("limit", "limits", "limited", "limiting", "exceeded")

func set(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}
