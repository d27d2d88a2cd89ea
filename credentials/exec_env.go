package credentials

import (
	"os"
	"strings"
)

// Environment variables an [ExecProvider] sets for its command, so that a
// helper knows why it runs: it can log it, or rotate the key only when the
// API rejected it. Inherited variables of these names are removed first, so
// a command never sees a stale value.
const (
	// ExecReasonEnv holds why the command runs, as [RefreshReason.String]
	// spells it: "initial" (the first key), "rejected" (the API refused the
	// key), "expiring" (its expiry is near) or "expired". It is unset when
	// the reason is unknown: a Retrieve called other than by a [Cache].
	ExecReasonEnv = "REKEY_REASON"

	// ExecRejectedKeyEnv holds, when the command runs because the API
	// rejected a key, that key's redacted form from [Redact] (such as
	// "sk_live_…9f2c"), for the helper to log or to tell which key was
	// refused. It is never the key itself. It is unset otherwise, and when
	// rekey does not know the rejected key (an ExecProvider inside a
	// [Chain], which has no Refresh).
	ExecRejectedKeyEnv = "REKEY_REJECTED_KEY_REDACTED"
)

// environ returns the command's environment: Env (nil: the calling
// process's), without inherited REKEY_REASON and REKEY_REJECTED_KEY_REDACTED,
// plus those two as far as rekey knows them.
func (p *ExecProvider) environ(reason RefreshReason, known bool, rejected Credential) []string {
	base := p.Env
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+2)
	for _, kv := range base {
		if strings.HasPrefix(kv, ExecReasonEnv+"=") || strings.HasPrefix(kv, ExecRejectedKeyEnv+"=") {
			continue
		}
		env = append(env, kv)
	}
	if !known {
		return env
	}
	env = append(env, ExecReasonEnv+"="+reason.String())
	if reason == ReasonRejected && rejected.Key != "" {
		env = append(env, ExecRejectedKeyEnv+"="+Redact(rejected.Key))
	}
	return env
}
