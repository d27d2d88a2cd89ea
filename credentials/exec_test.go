package credentials

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/testwait"
)

// The exec tests run real subprocesses: the test binary re-executes itself
// as TestHelperProcess, told what to do by these variables, so no shell or
// other program is needed.
const (
	execHelperMode   = "REKEY_EXEC_HELPER"        // what the helper does; unset: not a helper
	execHelperStdout = "REKEY_EXEC_HELPER_STDOUT" // mode "print": what to write on stdout
	execHelperStderr = "REKEY_EXEC_HELPER_STDERR" // mode "print": what to write on stderr
	execHelperExit   = "REKEY_EXEC_HELPER_EXIT"   // mode "print": exit status
	execHelperFile   = "REKEY_EXEC_HELPER_FILE"   // mode "file": print this file's content
)

const execSecret = "sk_test_exec_4eC39HqLyjWDarjt"

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(execHelperMode)
	if mode == "" {
		return
	}
	switch mode {
	case "print":
		fmt.Fprint(os.Stdout, os.Getenv(execHelperStdout))
		fmt.Fprint(os.Stderr, os.Getenv(execHelperStderr))
		code, _ := strconv.Atoi(os.Getenv(execHelperExit))
		os.Exit(code)
	case "file":
		b, err := os.ReadFile(os.Getenv(execHelperFile))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Stdout.Write(b)
	case "hang": // a child that ignores polite requests to stop
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		time.Sleep(time.Hour)
	case "flood-stdout":
		chunk := []byte(strings.Repeat("k", 4096))
		for {
			if _, err := os.Stdout.Write(chunk); err != nil {
				os.Exit(1)
			}
		}
	case "flood-stderr":
		fmt.Fprint(os.Stderr, strings.Repeat("noise ", 2000), "\x1b[1mlast words\x1b[0m: THE-END")
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
		os.Exit(2)
	}
	os.Exit(0)
}

// execHelper returns an ExecProvider running the test binary as a helper
// with the given environment additions.
func execHelper(env ...string) *ExecProvider {
	p := Exec(os.Args[0], "-test.run=^TestHelperProcess$")
	p.Env = append(os.Environ(), env...)
	// Under -race a child exiting with status 0 otherwise sleeps a second
	// (atexit_sleep_ms) in case other threads have races to report.
	p.Env = append(p.Env, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	return p
}

func printHelper(stdout, stderr string, exit int) *ExecProvider {
	return execHelper(execHelperMode+"=print", execHelperStdout+"="+stdout,
		execHelperStderr+"="+stderr, execHelperExit+"="+strconv.Itoa(exit))
}

func TestExec(t *testing.T) {
	expiry := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	cases := []struct {
		name     string
		p        func(t *testing.T) *ExecProvider
		ctx      func(t *testing.T) context.Context // nil: Background
		want     Credential
		wantIs   []error
		wantMsg  []string // substrings of the error
		wantNot  []string // never in the error
		promptly bool     // must return well before the child would
	}{{
		name: "raw key, whitespace trimmed",
		p:    func(*testing.T) *ExecProvider { return printHelper("  "+execSecret+" \n", "", 0) },
		want: Credential{Key: execSecret},
	}, {
		name: "JSON with expiry",
		p: func(*testing.T) *ExecProvider {
			return printHelper(`{"key":"`+execSecret+`","expires_at":"2030-01-02T15:04:05Z","version":1}`+"\n", "", 0)
		},
		want: Credential{Key: execSecret, Expiry: expiry},
	}, {
		name: "JSON without expiry",
		p:    func(*testing.T) *ExecProvider { return printHelper(`{"key": "`+execSecret+`"}`, "", 0) },
		want: Credential{Key: execSecret},
	}, {
		name: "non-zero exit reports status and sanitized stderr, not stdout",
		p: func(*testing.T) *ExecProvider {
			return printHelper(execSecret, "\x1b[31merror:\x1b[0m not logged in\r\n\trun `vault login`\a\n", 3)
		},
		wantMsg: []string{`exited with status 3: error: not logged in run ` + "`vault login`"},
		wantNot: []string{execSecret, "\x1b", "\a", "\n"},
	}, {
		name:    "a key echoed on stderr is redacted",
		p:       func(*testing.T) *ExecProvider { return printHelper(execSecret, "refusing to print "+execSecret, 1) },
		wantMsg: []string{"refusing to print " + Redact(execSecret)},
		wantNot: []string{execSecret},
	}, {
		name:    "non-zero exit without stderr",
		p:       func(*testing.T) *ExecProvider { return printHelper("", "", 1) },
		wantMsg: []string{"exited with status 1 and printed nothing on standard error"},
	}, {
		name:    "empty output",
		p:       func(*testing.T) *ExecProvider { return printHelper(" \n\t", "session expired, log in again", 0) },
		wantIs:  []error{ErrNoCredentials},
		wantMsg: []string{`printed no key (stderr: session expired, log in again)`},
	}, {
		name: "malformed JSON names the problem, not the content",
		p: func(*testing.T) *ExecProvider {
			return printHelper(`{"key": "`+execSecret+`", "expires_at": 12`, "", 0)
		},
		wantMsg: []string{"printed malformed JSON: the JSON object is cut short"},
		wantNot: []string{execSecret},
	}, {
		name:    "malformed key",
		p:       func(*testing.T) *ExecProvider { return printHelper("Bearer "+execSecret, "", 0) },
		wantIs:  []error{ErrMalformedKey},
		wantMsg: []string{`malformed API key from command "`},
		wantNot: []string{execSecret},
	}, {
		name:    "missing binary",
		p:       func(*testing.T) *ExecProvider { return Exec("rekey-no-such-helper-3f9a", "get") },
		wantIs:  []error{ErrNoCredentials, exec.ErrNotFound},
		wantMsg: []string{`credentials: command "rekey-no-such-helper-3f9a" not found in PATH: install it or give its full path`},
	}, {
		name:    "missing path",
		p:       func(t *testing.T) *ExecProvider { return Exec(filepath.Join(t.TempDir(), "nope")) },
		wantIs:  []error{ErrNoCredentials},
		wantMsg: []string{"does not exist: check the path"},
	}, {
		name: "missing working directory",
		p: func(t *testing.T) *ExecProvider {
			p := printHelper(execSecret, "", 0)
			p.Dir = filepath.Join(t.TempDir(), "gone")
			return p
		},
		wantMsg: []string{"working directory of command"},
	}, {
		name: "timeout kills a child that ignores SIGTERM",
		p: func(*testing.T) *ExecProvider {
			p := execHelper(execHelperMode + "=hang")
			p.Timeout = 300 * time.Millisecond
			return p
		},
		wantIs:   []error{context.DeadlineExceeded},
		wantMsg:  []string{"timed out after 300ms"},
		promptly: true,
	}, {
		name: "caller's cancellation kills the child",
		p:    func(*testing.T) *ExecProvider { return execHelper(execHelperMode + "=hang") },
		ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx
		},
		wantIs:   []error{context.Canceled},
		wantMsg:  []string{"stopped before printing a key"},
		promptly: true,
	}, {
		name:     "oversized output stops the child",
		p:        func(*testing.T) *ExecProvider { return execHelper(execHelperMode + "=flood-stdout") },
		wantMsg:  []string{"printed more than 64 KiB on standard output"},
		wantNot:  []string{"kkkkkkkk"},
		promptly: true,
	}, {
		name:    "a key of the minimum length echoed on stderr is redacted",
		p:       func(*testing.T) *ExecProvider { return printHelper("Zq8Kp3Wx", "refusing Zq8Kp3Wx\n", 1) },
		wantMsg: []string{"exited with status 1: refusing ****"},
		wantNot: []string{"Zq8Kp3Wx"},
	}, {
		name:    "stderr is bounded to its last KiB",
		p:       func(*testing.T) *ExecProvider { return execHelper(execHelperMode + "=flood-stderr") },
		wantMsg: []string{"exited with status 1: …", "last words: THE-END"},
		wantNot: []string{"[1m", strings.Repeat("noise ", 200)},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}
			// Bounded: a child that is never stopped fails the case in
			// seconds instead of hanging the test for its hour.
			ctx, cancel := context.WithTimeout(ctx, 2*testwait.Timeout)
			defer cancel()
			start := time.Now()
			got, err := tc.p(t).Retrieve(ctx)
			// The child would run for an hour (or print forever); returning
			// within a minute shows it was stopped, on any machine.
			if tc.promptly && time.Since(start) > time.Minute {
				t.Errorf("took %v: the child was not stopped promptly", time.Since(start))
			}
			if tc.wantIs == nil && tc.wantMsg == nil {
				if err != nil || got.Key != tc.want.Key || !got.Expiry.Equal(tc.want.Expiry) {
					t.Fatalf("Retrieve = %#v, %v; want %#v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Retrieve = %#v, want an error", got)
			}
			t.Logf("error: %v", err)
			for _, target := range tc.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("error %q does not match %v", err, target)
				}
			}
			for _, s := range tc.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, s := range tc.wantNot {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains %q", err, s)
				}
			}
		})
	}
}

func TestExecErrorFields(t *testing.T) {
	_, err := printHelper(execSecret, "no session\n", 7).Retrieve(context.Background())
	var ee *ExecError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v is not an *ExecError", err)
	}
	if ee.Command != os.Args[0] || ee.ExitCode != 7 || ee.Stderr != "no session" {
		t.Errorf("ExecError = %+v", *ee)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Errorf("error %v does not unwrap to *exec.ExitError", err)
	}
}

// ExecError says how the command ended and what it printed on stderr.
func TestExecErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		e    ExecError
		want string
	}{
		{ExecError{Command: "op", ExitCode: 1, Stderr: "not signed in"}, `credentials: command "op" exited with status 1: not signed in`},
		{ExecError{Command: "op", ExitCode: 0}, `credentials: command "op" exited with status 0 and printed nothing on standard error`},
		{ExecError{Command: "op", ExitCode: -1, Err: errors.New("signal: killed")}, `credentials: command "op" failed (signal: killed) and printed nothing on standard error`},
		{ExecError{Command: "op", ExitCode: -1, Stderr: "bye"}, `credentials: command "op" failed: bye`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// A refresh is a rerun: the helper prints a file the test rewrites, as a
// real helper would print a rotated key.
func TestExecRefreshRerunsCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	write := func(key string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key1, key2 := execSecret+"_one", execSecret+"_two"
	write(key1)
	cache := &Cache{Provider: execHelper(execHelperMode+"=file", execHelperFile+"="+path), RefreshAttempts: 1}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()

	first, err := cache.Retrieve(ctx)
	if err != nil || first.Key != key1 {
		t.Fatalf("first Retrieve = %v, %v; want key1", first, err)
	}
	write(key2)
	second, err := cache.Invalidate(ctx, first)
	if err != nil || second.Key != key2 {
		t.Fatalf("Invalidate(key1) = %v, %v; want key2", second, err)
	}
	// The helper prints key2 again: a rerun that cannot help is an error.
	if _, err := cache.Invalidate(ctx, second); !errors.Is(err, ErrSameKey) {
		t.Fatalf("Invalidate(key2) with key2 still in the file: err = %v, want ErrSameKey", err)
	}
}

func TestParseExecOutputMalformed(t *testing.T) {
	cases := map[string]struct{ out, want string }{
		"syntax":          {`{"key" "` + execSecret + `"}`, "invalid JSON syntax at byte"},
		"cut short":       {`{"key": "` + execSecret, "the JSON object is cut short"},
		"key not string":  {`{"key": 12345678901234}`, `field "key" is a JSON number, want a string`},
		"no key field":    {`{"token": "` + execSecret + `"}`, `it has no "key" field`},
		"bad expires_at":  {`{"key": "` + execSecret + `", "expires_at": "tomorrow"}`, `"expires_at" is not an RFC 3339 time`},
		"trailing data":   {`{"key": "` + execSecret + `"} {"key": "x"}`, "there is more after the JSON object"},
		"expiry a number": {`{"key": "` + execSecret + `", "expires_at": 1893456000}`, `field "expires_at" is a JSON number`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseExecOutput("helper", []byte(tc.out))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			for _, leak := range []string{execSecret, "tomorrow", "1893456000", "12345678901234"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q quotes the output (%q)", err, leak)
				}
			}
		})
	}
	if _, err := parseExecOutput("helper", []byte(`{"key": ""}`)); !errors.Is(err, ErrNoCredentials) {
		t.Errorf(`{"key": ""}: err = %v, want ErrNoCredentials`, err)
	}
}

func TestExecNeverPrintsEnv(t *testing.T) {
	p := Exec("op", "read", "op://prod/api/key")
	p.Env = []string{"OP_SERVICE_ACCOUNT_TOKEN=" + execSecret}
	want := `credentials.Exec("op", "read", "op://prod/api/key")`
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		got := fmt.Sprintf(verb, p)
		if got != want {
			t.Errorf("Sprintf(%s) = %s, want %s", verb, got, want)
		}
	}
}

func TestExecNilArgsAndEmptyName(t *testing.T) {
	if _, err := Exec("").Retrieve(context.Background()); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("Exec(\"\"): err = %v, want ErrNoCredentials", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := printHelper(execSecret, "", 0).Retrieve(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v, want context.Canceled", err)
	}
}
