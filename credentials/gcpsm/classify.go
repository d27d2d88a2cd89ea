package gcpsm

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The version a FAILED_PRECONDITION names: Secret Manager answers
// "Secret Version [projects/123/secrets/S/versions/4] is in DESTROYED state."
// when the version read ("latest" included) is not enabled
// (https://github.com/external-secrets/external-secrets/issues/4042,
// https://github.com/google-github-actions/get-secretmanager-secrets/issues/268).
var stateRE = regexp.MustCompile(`\[[^\]]*/versions/([^\]/]+)\] is in (DISABLED|DESTROYED) state`)

// classify turns an error of the client into an *Error with a kind and a
// hint. seen holds what the client's retry loop saw: when a deadline or a
// cancellation ended it, the service's last answer is the cause to report.
func (p *Provider) classify(ctx context.Context, op, ver string, err error, seen *attempts) *Error {
	e := &Error{Secret: p.secret, Version: ver, Op: op, Err: err, Attempts: seen.failed}
	cause, stopped := err, ""
	ctxErr := ctx.Err()
	if ctxErr != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		status.Code(err) == codes.DeadlineExceeded || status.Code(err) == codes.Canceled {
		if ctxErr == nil {
			// The call's own deadline (gRPC sends it to the server, whose
			// RST_STREAM can arrive a moment before the caller's context
			// says it has ended).
			ctxErr = context.DeadlineExceeded
		}
		stopped = ctxErr.Error()
		if seen.answer != nil {
			// The service's last answer is the cause; the context's error
			// stays reachable with errors.Is.
			cause = seen.answer
			e.Err = errors.Join(cause, ctxErr)
		}
	}
	if ctxErr != nil && !errors.Is(e.Err, ctxErr) {
		e.Err = errors.Join(e.Err, ctxErr) // gRPC's DEADLINE_EXCEEDED is not context.DeadlineExceeded
	}
	st, ok := status.FromError(cause)
	if !ok { // a context's error, or one from outside gRPC
		st = status.FromContextError(cause)
	}
	e.Code = st.Code()
	if ae, ok := apierror.FromError(cause); ok {
		e.Reason = ae.Reason()
	}
	e.msg = canonical(e.Code) + ": " + serviceMessage(st.Message())
	switch {
	case cause != err: // the service's answer, retried until the deadline
		e.msg += " (retried by the client; gave up after " + calls(e.Attempts) + ": " + stopped + ")"
	case e.Attempts > 1:
		e.msg += " (after " + calls(e.Attempts) + ")"
	}
	p.explain(e, op, ver, st.Message(), cause)
	return e
}

// explain sets Kind and hint from the gRPC code of the service's answer.
func (p *Provider) explain(e *Error, op, ver, message string, cause error) {
	id, flags := shortID(p.secret), gcloudFlags(p.secret)
	switch e.Code {
	case codes.NotFound:
		e.Kind = ErrNotFound
		switch kindOf(ver) {
		case kindNumber:
			e.hint = "version " + ver + " does not exist: list the versions (gcloud secrets versions list " + id + flags + ")"
		case kindAlias:
			e.hint = "the secret has no alias " + quote(ver) + ": see versionAliases in gcloud secrets describe " + id + flags +
				", or set it (gcloud secrets update " + id + flags + " --update-version-aliases=" + ver + "=<version>)"
		default:
			e.hint = "check the secret's name and project (gcloud secrets describe " + id + flags + "); " +
				"a secret with no version needs one (gcloud secrets versions add " + id + flags + " --data-file=-)"
		}
	case codes.PermissionDenied:
		e.Kind = ErrPermissionDenied
		switch {
		case e.Reason == "SERVICE_DISABLED":
			e.hint = "enable the Secret Manager API in the project (gcloud services enable secretmanager.googleapis.com --project=" +
				consumer(cause, projectOf(p.secret)) + "), then wait a few minutes"
		case op == "ListSecretVersions":
			e.hint = "the newest version is not enabled, and looking for the newest enabled one lists the versions, which needs the permission " +
				"secretmanager.versions.list: grant the caller roles/secretmanager.viewer on the secret (gcloud secrets add-iam-policy-binding " + id + flags +
				" --member=<principal> --role=roles/secretmanager.viewer), or enable the newest version"
		case op == "GetSecretVersion":
			e.hint = "polling reads the version's metadata (GetSecretVersion), which needs the permission secretmanager.versions.get: " +
				"grant the caller roles/secretmanager.viewer on the secret (gcloud secrets add-iam-policy-binding " + id + flags +
				" --member=<principal> --role=roles/secretmanager.viewer; roles/secretmanager.secretAccessor does not include it), " +
				"or turn polling off with gcpsm.WithPollInterval(0)"
		default:
			e.hint = "grant the caller roles/secretmanager.secretAccessor on the secret (gcloud secrets add-iam-policy-binding " + id + flags +
				" --member=<principal> --role=roles/secretmanager.secretAccessor): it holds secretmanager.versions.access, " +
				"the one permission a read needs; Secret Manager also answers PERMISSION_DENIED for a secret that does not exist, so check the name too"
		}
	case codes.Unauthenticated:
		e.Kind = ErrUnauthenticated
		e.hint = "Secret Manager refused the client's credentials: check those the *secretmanager.Client was built with " +
			"(Application Default Credentials: the workload's service account, gcloud auth application-default login, GOOGLE_APPLICATION_CREDENTIALS)"
	case codes.FailedPrecondition:
		m := stateRE.FindStringSubmatch(message)
		if m == nil {
			return
		}
		n, state := m[1], m[2]
		e.resolved, e.state = n, state
		enable := "gcloud secrets versions enable " + n + " --secret=" + id + flags
		add := "gcloud secrets versions add " + id + flags + " --data-file=-"
		if state == "DESTROYED" {
			e.Kind = ErrVersionDestroyed
		} else {
			e.Kind = ErrVersionDisabled
		}
		switch {
		case kindOf(ver) == kindLatest && state == "DISABLED":
			e.hint = "version " + n + `, the newest ("latest" names it whatever its state), is disabled: enable it (` + enable + ") or add a new version (" + add + ")"
		case kindOf(ver) == kindLatest:
			e.hint = "version " + n + `, the newest, is destroyed, and "latest" names it until a newer version exists: add a new version (` + add + ")"
		case state == "DISABLED":
			e.hint = "enable it (" + enable + ") or point the Provider at an enabled version"
		default:
			e.hint = "its data is gone: add a new version (" + add + ") and point the Provider at it"
		}
	case codes.ResourceExhausted:
		e.Kind = ErrQuotaExceeded
		if readQuota(op, message, cause) {
			e.hint = `the project's "Read requests" quota (600 a minute, shared by every caller in the project) ran out: ` +
				"poll less often (gcpsm.WithPollInterval: N processes polling every I minutes make N/I calls a minute), " +
				"turn polling off, or ask Google for more quota"
		} else {
			e.hint = `the project's "Access requests" quota (90,000 a minute, shared by every caller in the project) ran out: ` +
				"look for a caller that reads the secret per request instead of keeping it, or ask Google for more quota"
		}
	case codes.Unavailable:
		e.hint = "could not reach Secret Manager: check the network, the client's endpoint and any proxy"
	case codes.DeadlineExceeded:
		e.hint = "Secret Manager did not answer in time: check the network and the client's endpoint"
	}
}

func calls(n int) string {
	if n == 1 {
		return "1 call"
	}
	return fmt.Sprintf("%d calls", n)
}

// readQuota reports whether a RESOURCE_EXHAUSTED is about the "Read
// requests" quota (metadata calls) rather than the "Access requests" one,
// by the ErrorInfo's quota_metric, the message, or else the call.
func readQuota(op, message string, cause error) bool {
	if ae, ok := apierror.FromError(cause); ok {
		if m := ae.Metadata()["quota_metric"]; m != "" {
			return strings.Contains(m, "read_requests")
		}
	}
	if strings.Contains(message, "Read requests") {
		return true
	}
	if strings.Contains(message, "Access requests") {
		return false
	}
	return op != "AccessSecretVersion"
}

// consumer returns the project an ErrorInfo names ("projects/123" in the
// metadata of a SERVICE_DISABLED answer), else fallback.
func consumer(cause error, fallback string) string {
	if ae, ok := apierror.FromError(cause); ok {
		if c, ok := strings.CutPrefix(ae.Metadata()["consumer"], "projects/"); ok && projectRE.MatchString(c) {
			return c
		}
	}
	return fallback
}

// canonical names a gRPC code as Google's documentation does:
// NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED.
func canonical(c codes.Code) string {
	if c == codes.OK {
		return "OK"
	}
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// serviceMessage makes the service's message safe for one line: control
// characters become spaces, and it is bounded. Secret Manager's messages
// name resources, permissions and quotas, never a payload.
func serviceMessage(m string) string {
	m = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSuffix(strings.TrimSpace(m), ".")) // the hint follows after a colon
	if len(m) > 300 {
		m = m[:300] + "…"
	}
	if m == "" {
		return "no message"
	}
	return m
}
