package azkv

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Role and permission names the errors and docs give.
const (
	// RoleSecretsUser is the built-in Azure role that lets an identity read
	// secrets: its data actions are getSecret (a value) and readMetadata
	// (list or view a secret's properties, which polling lists). That is all
	// the Provider needs, on a vault that uses Azure RBAC
	// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-secrets-user).
	RoleSecretsUser = "Key Vault Secrets User"

	// actionList is the RBAC data action a listing of versions needs.
	actionList = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
)

// call names the request that failed, for its error.
type call struct {
	op      string // "Retrieve", "Refresh" or "Poll"
	version string // the version asked for; "" for the current one
	list    bool   // a listing of the secret's versions, not a GET
}

// fail turns an error of the SDK into an [*Error] with a kind and a hint.
// resp is the last response the pipeline received, if any.
func (p *Provider) fail(ctx context.Context, c call, err error, resp *http.Response) *Error {
	e := &Error{Op: c.op, Name: p.name, Version: c.version, Vault: p.vaultHost(), Err: err}
	var re *azcore.ResponseError
	var te *tokenError
	switch {
	case errors.As(err, &re):
		e.StatusCode, e.Code = re.StatusCode, re.ErrorCode
		said := ""
		if r := re.RawResponse; r != nil {
			e.RequestID = r.Header.Get("x-ms-request-id")
			var inner string
			inner, said = kvError(r)
			e.InnerCode = inner
			if ra := r.Header.Get("Retry-After"); ra != "" && re.StatusCode == http.StatusTooManyRequests {
				said = strings.TrimSuffix(said, ".") + "; Retry-After: " + ra
			}
		}
		p.explain(e, said, c)
	case ctx.Err() != nil:
		e.Err = ctx.Err()
		e.msg = "gave up: " + ctx.Err().Error()
	case errors.As(err, &te):
		e.Kind = ErrUnauthorized
		e.msg = "the TokenCredential could not get a token for Key Vault (" + oneLine(te.err.Error(), 600) + ")"
		e.hint = "check the credential's configuration (for a managed identity: that it is assigned to this resource; " +
			"for the Azure CLI: az login), and that it can sign in to the vault's tenant"
	case resp != nil && resp.StatusCode/100 == 2, strings.HasPrefix(err.Error(), "unmarshalling type"):
		// The answer arrived but did not decode. The decoder's message can
		// quote the body, which holds the secret: keep it out.
		e.Err = nil
		e.msg = "Key Vault's answer could not be decoded as a secret"
		if c.list {
			e.msg = "Key Vault's answer could not be decoded as a list of versions"
		}
		e.hint = "check that the client's vault URL is Key Vault's (https://<vault-name>.vault.azure.net/)"
	case strings.Contains(err.Error(), "DisableChallengeResourceVerification"):
		e.msg = "the bearer challenge named another domain than the vault's (" + oneLine(err.Error(), 300) + ")"
		e.hint = "use the vault's own URL (https://<vault-name>.vault.azure.net/); for a test server or a custom DNS name, " +
			"set DisableChallengeResourceVerification in azsecrets.ClientOptions (azkv.WithClientOptions)"
	default:
		// Connection failures (a *url.Error naming the URL, never a
		// value), the SDK's refusal to send a token over http, and errors
		// of a caller-built client's TokenCredential, whose messages say
		// what failed.
		e.msg = "could not read from Key Vault, after the SDK's retries (" + oneLine(err.Error(), 600) + ")"
		e.hint = "check the vault URL, the network path to it (DNS, firewall, private endpoint) and the TokenCredential"
	}
	if c.list {
		what := e.msg
		if what == "" && e.Kind != nil {
			what = strings.TrimPrefix(e.Kind.Error(), "azkv: ")
		}
		e.msg = "listing the secret's versions: " + what
	}
	return e
}

// explain fills in the kind and hint for an error status from Key Vault.
// said is Key Vault's own message, which names the caller, the action and
// the vault, never a secret's value.
func (p *Provider) explain(e *Error, said string, c call) {
	if said != "" {
		e.msg = "Key Vault said: " + said
	}
	version := "the current version"
	if c.version != "" {
		version = "version " + c.version
	}
	switch code := e.StatusCode; {
	case code == http.StatusNotFound:
		e.Kind = ErrNotFound
		e.hint = "check the secret's name and the vault (az keyvault secret show --vault-name " + p.vaultName() + " --name " + p.name + ")"
		if p.cfg.version != "" {
			e.hint += " and the pinned version (az keyvault secret list-versions)"
		}
		e.hint += "; a secret deleted recently can be recovered (az keyvault secret recover)"
	case code == http.StatusForbidden && e.InnerCode == "SecretDisabled":
		e.Kind = ErrDisabled
		e.hint = version + " is disabled: " + p.disabledHint(c.version)
	case code == http.StatusForbidden && e.InnerCode == "SecretExpired":
		e.Kind = ErrExpired
		e.hint = p.expiredHint(c.version)
	case code == http.StatusForbidden && e.InnerCode == "ForbiddenByFirewall":
		e.Kind = ErrForbidden
		e.hint = "the vault's firewall refuses this client's address: allow it (az keyvault network-rule add), " +
			"or reach the vault through a private endpoint"
	case code == http.StatusForbidden && c.list && e.InnerCode == "ForbiddenByRbac":
		e.Kind = ErrForbidden
		e.hint = "the vault uses Azure RBAC, and polling lists the secret's versions, which needs the data action " + actionList +
			": assign the caller's identity the \"" + RoleSecretsUser + "\" role, which has it besides getSecret, on the secret or the vault " +
			"(az role assignment create --role \"" + RoleSecretsUser + "\" --assignee <principal id> --scope <vault id>/secrets/" + p.name +
			"), or poll with one GET of the current version instead (azkv.WithPollByGet), which needs only what reading the key needs"
	case code == http.StatusForbidden && c.list && (e.InnerCode == "AccessDenied" || strings.Contains(e.msg, "does not have secrets list permission")):
		e.Kind = ErrForbidden
		e.hint = "the vault uses access policies, and polling lists the secret's versions, which needs the List secret permission besides Get " +
			"(az keyvault set-policy --name " + p.vaultName() + " --object-id <object id> --secret-permissions get list), " +
			"or poll with one GET of the current version instead (azkv.WithPollByGet), which needs Get only"
	case code == http.StatusForbidden && c.list:
		e.Kind = ErrForbidden
		e.hint = "polling lists the secret's versions: assign the caller's identity the \"" + RoleSecretsUser + "\" role (a vault using Azure RBAC) " +
			"or the List secret permission besides Get (a vault using access policies), and check the vault's firewall; " +
			"or poll with one GET instead (azkv.WithPollByGet)"
	case code == http.StatusForbidden && e.InnerCode == "ForbiddenByRbac":
		e.Kind = ErrForbidden
		e.hint = "the vault uses Azure RBAC: assign the caller's identity the \"" + RoleSecretsUser + "\" role on the secret or the vault " +
			"(az role assignment create --role \"" + RoleSecretsUser + "\" --assignee <principal id> --scope <vault id>/secrets/" + p.name +
			"); \"Key Vault Reader\" is not enough (it cannot read values), and a new assignment can take a few minutes to apply"
	case code == http.StatusForbidden && (e.InnerCode == "AccessDenied" || strings.Contains(e.msg, "does not have secrets get permission")):
		e.Kind = ErrForbidden
		e.hint = "the vault uses access policies: give the caller's identity the Get secret permission " +
			"(az keyvault set-policy --name " + p.vaultName() + " --object-id <object id> --secret-permissions get), " +
			"or move the vault to Azure RBAC and assign the \"" + RoleSecretsUser + "\" role"
	case code == http.StatusForbidden:
		e.Kind = ErrForbidden
		e.hint = "assign the caller's identity the \"" + RoleSecretsUser + "\" role (a vault using Azure RBAC) " +
			"or the Get secret permission (a vault using access policies), and check the vault's firewall"
	case code == http.StatusUnauthorized:
		e.Kind = ErrUnauthorized
		e.hint = "Key Vault refused the token: check that the TokenCredential signs in to the vault's tenant " +
			"and asks for the scope the bearer challenge names (https://vault.azure.net/.default)"
	case code == http.StatusTooManyRequests:
		e.Kind = ErrThrottled
		e.hint = "Key Vault is throttling this vault and the SDK's retry policy gave up (azcore.ClientOptions.Retry: MaxRetries, 3 by default; " +
			"a Retry-After longer than MaxRetryDelay is not waited for): poll less often (azkv.WithPollInterval), " +
			"share one Provider per process, or spread the vault's other clients"
		if c.list {
			e.hint += "; a listing costs one request per 25 versions: for a secret with many versions, poll with one GET (azkv.WithPollByGet)"
		}
	case code >= 500:
		e.hint = "Key Vault failed and the SDK's retry policy gave up: check the service's health, and try again later"
	}
}

// kvError reads Key Vault's error body, {"error": {"code", "message",
// "innererror": {"code"}}}, from a response the SDK has already read (and
// keeps). Key Vault's messages name the caller, the action and the vault,
// never a secret's value.
func kvError(resp *http.Response) (inner, message string) {
	body, err := runtime.Payload(resp)
	if err != nil || len(body) == 0 {
		return "", ""
	}
	var e struct {
		Error struct {
			Message    string `json:"message"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return oneLine(e.Error.InnerError.Code, 64), oneLine(e.Error.Message, 600)
}

// oneLine puts s on one line, without control characters, bounded.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return s
}

// tokenCredential marks the errors of the TokenCredential given to
// NewFromURL, so that they are reported as ErrUnauthorized.
type tokenCredential struct{ cred azcore.TokenCredential }

func (t tokenCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := t.cred.GetToken(ctx, opts)
	if err != nil {
		return tok, &tokenError{err}
	}
	return tok, nil
}

type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }
