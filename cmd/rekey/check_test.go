package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/rekeytest"
)

const invalidMessage = "The API key provided is not valid or has expired."

// runCmd runs the command line and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// assertNoKeys fails if any key appears in the output.
func assertNoKeys(t *testing.T, output string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if k != "" && strings.Contains(output, k) {
			t.Errorf("output contains a key:\n%s", strings.ReplaceAll(output, k, "<KEY>"))
		}
	}
}

func TestCheck(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	valid := srv.IssueKey().Key
	revoked := srv.IssueKey().Key
	srv.Revoke(revoked)

	gone := rekeytest.NewServer()
	goneURL := gone.URL
	gone.Close()

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(valid+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	quotedFile := filepath.Join(dir, "quoted")
	if err := os.WriteFile(quotedFile, []byte(`"`+valid+`"`), 0o600); err != nil {
		t.Fatal(err)
	}

	keyURL := srv.URL + "/v1/key"
	tests := []struct {
		name       string
		env        string // the value of REKEY_CHECK_KEY
		args       []string
		code       int
		stdout     string // exact
		stderrHas  string
		stderrNone bool // nothing on stderr
	}{
		{name: "valid key from env", env: valid, args: []string{"--url", keyURL, "--key-env", "REKEY_CHECK_KEY"},
			code: 0, stdout: "valid\n", stderrHas: "200 OK"},
		{name: "valid key from file", args: []string{"--url", keyURL, "--key-file", keyFile},
			code: 0, stdout: "valid\n"},
		{name: "valid key in a custom header", env: valid, args: []string{"--url", keyURL, "--key-env", "REKEY_CHECK_KEY", "--header", "X-API-Key"},
			code: 0, stdout: "valid\n"},
		{name: "valid key from a command", args: []string{"--url", keyURL, "--key-cmd", "echo " + valid},
			code: 0, stdout: "valid\n"},
		{name: "revoked key", env: revoked, args: []string{"--url", keyURL, "--key-env", "REKEY_CHECK_KEY"},
			code: 1, stdout: "invalid: " + invalidMessage + "\n", stderrHas: "401 Invalid API Key (request ID req_"},
		{name: "unknown key in a custom header", env: "rk_test_00000000000000000000000000000000", args: []string{"--url", keyURL, "--key-env", "REKEY_CHECK_KEY", "--header", "X-API-Key"},
			code: 1, stdout: "invalid: " + invalidMessage + "\n"},
		{name: "pasted Bearer prefix in env", env: "Bearer " + valid, args: []string{"--url", keyURL, "--key-env", "REKEY_CHECK_KEY"},
			code: 2, stderrHas: `environment variable REKEY_CHECK_KEY`},
		{name: "quotes around the key in a file", args: []string{"--url", keyURL, "--key-file", quotedFile},
			code: 2, stderrHas: "quote"},
		{name: "unset env", args: []string{"--url", keyURL, "--key-env", "REKEY_CHECK_UNSET"},
			code: 2, stderrHas: "REKEY_CHECK_UNSET"},
		{name: "missing file", args: []string{"--url", keyURL, "--key-file", filepath.Join(dir, "nope")},
			code: 2, stderrHas: "nope"},
		{name: "failing command", args: []string{"--url", keyURL, "--key-cmd", "false"},
			code: 2, stderrHas: "false"},
		{name: "no key source", args: []string{"--url", keyURL},
			code: 2, stderrHas: "no key source"},
		{name: "two key sources", env: valid, args: []string{"--url", keyURL, "--key-env", "REKEY_CHECK_KEY", "--key-file", keyFile},
			code: 2, stderrHas: "--key-env and --key-file conflict"},
		{name: "no URL", env: valid, args: []string{"--key-env", "REKEY_CHECK_KEY"},
			code: 2, stderrHas: "--url is required"},
		{name: "relative URL", env: valid, args: []string{"--url", "api.example.com/v1", "--key-env", "REKEY_CHECK_KEY"},
			code: 2, stderrHas: "absolute http or https URL"},
		{name: "plain http to a remote host", env: valid, args: []string{"--url", "http://api.example.com/v1/me", "--key-env", "REKEY_CHECK_KEY"},
			code: 2, stderrHas: "plain http"},
		{name: "unknown flag", args: []string{"--bogus"},
			code: 2, stderrHas: "rekey check --help"},
		{name: "unreachable endpoint", env: valid, args: []string{"--url", goneURL + "/v1/key", "--key-env", "REKEY_CHECK_KEY"},
			code: 3, stderrHas: "could not reach " + goneURL + "/v1/key"},
		{name: "forbidden is not a verdict", env: valid, args: []string{"--url", srv.URL + "/v1/forbidden", "--key-env", "REKEY_CHECK_KEY"},
			code: 3, stderrHas: "may be valid but not for this URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REKEY_CHECK_KEY", tt.env)
			code, stdout, stderr := runCmd(t, append([]string{"check"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.stderrHas)
			}
			assertNoKeys(t, stdout+stderr, valid, revoked, srv.AccountSecret())
		})
	}
}

func TestCheckHelpDocumentsExitCodes(t *testing.T) {
	code, stdout, stderr := runCmd(t, "check", "--help")
	if code != 0 || stderr != "" {
		t.Fatalf("check --help: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"0  valid", "1  invalid", "2  usage error", "3  could not check", "--key-env NAME", "--key-file PATH", "--key-cmd CMD", "--header NAME", "--basic-user NAME", "--basic-password P", "--url URL", "--api NAME", "--base-url URL", "--list-apis", "rekey check --api openai --key-env OPENAI_API_KEY"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check --help lacks %q:\n%s", want, stdout)
		}
	}
}
