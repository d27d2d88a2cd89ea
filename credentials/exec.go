package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rekeyhq/rekey/credentials/internal/bounded"
)

// DefaultExecTimeout bounds one run of an [ExecProvider] whose Timeout is zero.
const DefaultExecTimeout = 30 * time.Second

const (
	maxExecOutput = 64 << 10 // bytes of stdout read before the command is stopped
	maxExecStderr = 1 << 10  // bytes of the end of stderr kept for error messages
	// execWaitDelay bounds the wait for the command's output pipes once it
	// has exited or been killed: a grandchild that inherited them (a helper
	// script that left a daemon behind) must not hold Retrieve hostage.
	execWaitDelay = time.Second
)

// Exec returns a Provider that runs the command name with args and reads
// the key from its standard output, as AWS credential_process and kubectl
// exec plugins do. No shell is involved: name is looked up in PATH unless it
// contains a path separator, and args are passed as they are.
//
// The command runs on every Retrieve, so a [Cache] refresh reruns it and
// picks up whatever key it prints now. It must print either the bare key
// (surrounding whitespace is trimmed) or one JSON object
//
//	{"key": "sk_live_...", "expires_at": "2030-01-02T15:04:05Z"}
//
// whose expires_at, an RFC 3339 time, is optional and becomes the
// credential's Expiry; other fields are ignored. The key is checked with
// [Validate]. Standard input is empty; standard error is captured and its
// last KiB, stripped of control characters, goes into error messages.
//
// The command is told why it runs: behind a [Cache], REKEY_REASON is
// "initial", "rejected", "expiring" or "expired" ([ExecReasonEnv]), and
// after a rejection REKEY_REJECTED_KEY_REDACTED holds the rejected key in
// its redacted form, such as "sk_live_…9f2c" ([ExecRejectedKeyEnv]); never
// the key itself.
//
// Exec returns the concrete *ExecProvider, as exec.Command returns
// *exec.Cmd, so that the optional settings (Timeout, Dir, Env) are plain
// fields with a useful zero value rather than a set of options:
//
//	p := credentials.Exec("op", "read", "op://prod/api/key")
//	p.Timeout = 10 * time.Second
func Exec(name string, args ...string) *ExecProvider {
	return &ExecProvider{name: name, args: slices.Clone(args)}
}

// ExecProvider is the [Provider] returned by [Exec]. Set its fields before
// first use and do not change them afterwards; it is then safe for
// concurrent use, each Retrieve running its own process.
//
// Errors never contain the command's standard output, which may hold the
// key. A missing command or an empty output matches [ErrNoCredentials]; a
// non-zero exit is an [*ExecError]; a malformed key matches
// [ErrMalformedKey]; a timeout or a cancelled context matches
// context.DeadlineExceeded or context.Canceled. Output larger than 64 KiB
// stops the command and is reported as such.
//
// Printing an ExecProvider with any fmt verb shows the command and its
// arguments, never Env (which may hold secrets).
type ExecProvider struct {
	// Timeout bounds one run of the command, on top of the caller's
	// context. Zero means DefaultExecTimeout; negative means no bound but
	// the context. When either ends, the process is killed (SIGKILL on
	// Unix, which it cannot ignore).
	Timeout time.Duration

	// Dir is the command's working directory. Empty means the calling
	// process's current directory.
	Dir string

	// Env is the command's whole environment, as in exec.Cmd: each entry
	// is "KEY=value". Nil means the calling process's environment. Either
	// way, rekey sets [ExecReasonEnv] and [ExecRejectedKeyEnv] in it, or
	// removes them when it has nothing to say.
	Env []string

	name string
	args []string
}

// Retrieve runs the command once and returns the key it printed. See
// [ExecProvider] for the errors, and [ExecReasonEnv] for what the command is
// told.
func (p *ExecProvider) Retrieve(ctx context.Context) (Credential, error) {
	reason, known := RefreshReasonFrom(ctx)
	return p.run(ctx, p.environ(reason, known, Credential{}))
}

// Refresh runs the command again to replace rejected, and returns the key it
// prints. It implements [Refresher], so that a [Cache] with no RefreshFunc of
// its own, which calls Refresh for every refresh but the first, lets the
// command know which key it replaces: after a rejection, the command's
// environment holds the redacted form of rejected (see
// [ExecRejectedKeyEnv]). The reason comes from ctx ([RefreshReasonFrom]);
// without one, Refresh is for a rejected key, as the Refresher contract
// says. Errors are those of Retrieve.
func (p *ExecProvider) Refresh(ctx context.Context, rejected Credential) (Credential, error) {
	reason, known := RefreshReasonFrom(ctx)
	if !known {
		reason, known = ReasonRejected, true
	}
	return p.run(ctx, p.environ(reason, known, rejected))
}

// run runs the command once with the environment env.
func (p *ExecProvider) run(ctx context.Context, env []string) (Credential, error) {
	if p.name == "" {
		return Credential{}, unavailable("credentials.Exec was given an empty command name", nil)
	}
	if err := ctx.Err(); err != nil {
		return Credential{}, fmt.Errorf("credentials: command %q not run: %w", p.name, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	timeout := p.Timeout
	if timeout == 0 {
		timeout = DefaultExecTimeout
	}
	if timeout > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, timeout)
		defer cancel()
	}

	stdout := &bounded.Buffer{Max: maxExecOutput, OnFull: cancel}
	stderr := &bounded.Tail{Max: maxExecStderr}
	cmd := exec.CommandContext(runCtx, p.name, p.args...)
	cmd.Dir, cmd.Env = p.Dir, env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = execWaitDelay

	if err := cmd.Start(); err != nil {
		return Credential{}, p.startError(ctx, err)
	}
	err := cmd.Wait()
	out := stdout.Bytes()
	note := func() string { return stderrNote(stderr, out) }
	switch {
	case stdout.Full():
		return Credential{}, fmt.Errorf("credentials: command %q printed more than %d KiB on standard output and was stopped: it should print only the key", p.name, maxExecOutput>>10)
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		// Exited with status 0 (a lingering grandchild held the pipes at
		// worst): what it printed is its answer, even if ctx ended since.
	case ctx.Err() != nil:
		return Credential{}, fmt.Errorf("credentials: command %q stopped before printing a key%s: %w", p.name, note(), ctx.Err())
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		return Credential{}, fmt.Errorf("credentials: command %q timed out after %v%s: %w", p.name, timeout, note(), context.DeadlineExceeded)
	default:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return Credential{}, &ExecError{Command: p.name, ExitCode: ee.ExitCode(), Stderr: stderrText(stderr, out), Err: err}
		}
		return Credential{}, fmt.Errorf("credentials: running command %q%s: %w", p.name, note(), err)
	}
	cred, err := parseExecOutput(p.name, out)
	if err != nil && errors.Is(err, ErrNoCredentials) {
		return Credential{}, unavailable(fmt.Sprintf("command %q printed no key%s", p.name, note()), nil)
	}
	return cred, err
}

// startError explains why the command could not be started.
func (p *ExecProvider) startError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("credentials: command %q not run: %w", p.name, ctx.Err())
	case errors.Is(err, exec.ErrNotFound):
		return unavailable(fmt.Sprintf("command %q not found in PATH: install it or give its full path", p.name), err)
	case errors.Is(err, exec.ErrDot):
		return fmt.Errorf("credentials: command %q resolves to the current directory, which Go refuses for safety: give its path as ./%s: %w", p.name, p.name, err)
	case isChdirError(err):
		return fmt.Errorf("credentials: working directory of command %q is unusable: %w", p.name, err)
	case errors.Is(err, fs.ErrNotExist):
		return unavailable(fmt.Sprintf("command %q does not exist: check the path", p.name), err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("credentials: command %q is not executable by this process: check its permissions: %w", p.name, err)
	}
	return fmt.Errorf("credentials: starting command %q: %w", p.name, err)
}

// isChdirError reports whether os.StartProcess failed on the working
// directory rather than on the command itself.
func isChdirError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Op == "chdir"
}

// String shows the command and its arguments, never Env.
func (p *ExecProvider) String() string {
	var b strings.Builder
	b.WriteString("credentials.Exec(")
	b.WriteString(strconv.Quote(p.name))
	for _, a := range p.args {
		b.WriteString(", ")
		b.WriteString(strconv.Quote(a))
	}
	b.WriteString(")")
	return b.String()
}

// Format implements fmt.Formatter so that no verb dumps Env.
func (p *ExecProvider) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// ExecError is returned by an [ExecProvider] whose command exited with a
// non-zero status or was killed by a signal it was not sent by rekey.
type ExecError struct {
	// Command is the command name given to [Exec].
	Command string
	// ExitCode is the exit status, or -1 if the process was killed.
	ExitCode int
	// Stderr is the end (at most 1 KiB) of the command's standard error,
	// on one line, with control characters removed and any key it printed
	// on standard output redacted. Empty if it printed nothing there.
	Stderr string
	// Err is the underlying error, an *exec.ExitError.
	Err error
}

// Error returns "credentials: command "name" exited with status N: stderr".
func (e *ExecError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "credentials: command %q ", e.Command)
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, "exited with status %d", e.ExitCode)
	} else if e.Err != nil {
		fmt.Fprintf(&b, "failed (%v)", e.Err)
	} else {
		b.WriteString("failed")
	}
	if e.Stderr == "" {
		b.WriteString(" and printed nothing on standard error")
	} else {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ExecError) Unwrap() error { return e.Err }

// stderrText is the sanitized end of stderr, with any key found in stdout
// redacted (a failing helper may echo what it printed).
func stderrText(stderr *bounded.Tail, stdout []byte) string {
	s := bounded.Sanitize(stderr.Bytes(), stderr.Truncated())
	if key := candidateKey(stdout); len(key) >= MinKeyLength {
		s = strings.ReplaceAll(s, key, Redact(key))
	}
	return s
}

func stderrNote(stderr *bounded.Tail, stdout []byte) string {
	if s := stderrText(stderr, stdout); s != "" {
		return " (stderr: " + s + ")"
	}
	return ""
}

// execOutput is the JSON form of a command's output.
type execOutput struct {
	Key       *string `json:"key"`
	ExpiresAt string  `json:"expires_at"`
}

// parseExecOutput turns a command's standard output into a Credential.
// Its errors describe what is wrong and never quote the output.
func parseExecOutput(name string, out []byte) (Credential, error) {
	source := fmt.Sprintf("command %q", name)
	text := trimKey(string(out))
	if text == "" {
		return Credential{}, ErrNoCredentials
	}
	if !strings.HasPrefix(text, "{") {
		if err := validateFrom(source, text); err != nil {
			return Credential{}, err
		}
		return Credential{Key: text}, nil
	}
	malformed := func(problem string) error {
		return fmt.Errorf(`credentials: %s printed malformed JSON: %s; want {"key": "...", "expires_at": "<RFC 3339 time>"} or the bare key`, source, problem)
	}
	var v execOutput
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&v); err != nil {
		return Credential{}, malformed(jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Credential{}, malformed("there is more after the JSON object")
	}
	if v.Key == nil {
		return Credential{}, malformed(`it has no "key" field`)
	}
	if *v.Key == "" {
		return Credential{}, ErrNoCredentials
	}
	cred := Credential{Key: *v.Key}
	if v.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, v.ExpiresAt)
		if err != nil {
			return Credential{}, malformed(`"expires_at" is not an RFC 3339 time such as 2030-01-02T15:04:05Z`)
		}
		cred.Expiry = t
	}
	if err := validateFrom(source, cred.Key); err != nil {
		return Credential{}, err
	}
	return cred, nil
}

// jsonProblem describes a decoding error without the text that caused it.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON syntax at byte %d", syn.Offset)
	case errors.As(err, &typ):
		kind, _, _ := strings.Cut(typ.Value, " ") // "number 12" -> "number": no value
		if typ.Field == "" {
			return fmt.Sprintf("the output is a JSON %s, want an object", kind)
		}
		return fmt.Sprintf("field %q is a JSON %s, want a string", typ.Field, kind)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON object is cut short"
	}
	return "it is not a JSON object"
}

// candidateKey is what the command would have given as its key, for
// redaction only.
func candidateKey(out []byte) string {
	text := trimKey(string(out))
	if !strings.HasPrefix(text, "{") {
		return text
	}
	var v execOutput
	if json.NewDecoder(bytes.NewReader(out)).Decode(&v) == nil && v.Key != nil {
		return *v.Key
	}
	return ""
}
