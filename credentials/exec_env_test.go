package credentials

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// envHelper is a credential helper as people write them: a shell script.
// It appends its whole environment to a log, one section per run, and
// prints the content of a key file the test rewrites.
type envHelper struct {
	*ExecProvider
	log, keyFile string
}

const envHelperScript = `#!/bin/sh
{ echo "--- run"; env; } >> "$1"
cat "$2"
`

func newEnvHelper(t *testing.T, env ...string) *envHelper {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the helper is a POSIX shell script")
	}
	dir := t.TempDir()
	h := &envHelper{log: filepath.Join(dir, "env.log"), keyFile: filepath.Join(dir, "key")}
	script := filepath.Join(dir, "helper.sh")
	if err := os.WriteFile(script, []byte(envHelperScript), 0o700); err != nil {
		t.Fatal(err)
	}
	h.ExecProvider = Exec(script, h.log, h.keyFile)
	if env != nil {
		h.Env = append(os.Environ(), env...)
	}
	return h
}

func (h *envHelper) print(t *testing.T, output string) {
	t.Helper()
	if err := os.WriteFile(h.keyFile, []byte(output+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runs returns, for each run so far, what the command saw of the two
// variables ("-" for unset), and the whole log.
func (h *envHelper) runs(t *testing.T) ([][2]string, string) {
	t.Helper()
	b, err := os.ReadFile(h.log)
	if err != nil {
		t.Fatal(err)
	}
	var runs [][2]string
	for _, section := range strings.Split(string(b), "--- run\n")[1:] {
		seen := [2]string{"-", "-"}
		for _, line := range strings.Split(section, "\n") {
			if v, ok := strings.CutPrefix(line, ExecReasonEnv+"="); ok {
				seen[0] = v
			}
			if v, ok := strings.CutPrefix(line, ExecRejectedKeyEnv+"="); ok {
				seen[1] = v
			}
		}
		runs = append(runs, seen)
	}
	return runs, string(b)
}

// Behind a Cache, the command learns why it runs and, after a rejection,
// which key was rejected: in redacted form only.
func TestExecTellsCommandWhyItRuns(t *testing.T) {
	key1, key2, key3 := execSecret+"_one", execSecret+"_two", execSecret+"_three"
	h := newEnvHelper(t)
	cache := &Cache{Provider: h.ExecProvider, RefreshAttempts: 1, ExpiryWindow: -1}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()

	h.print(t, key1)
	first, err := cache.Retrieve(ctx)
	if err != nil || first.Key != key1 {
		t.Fatalf("Retrieve = %v, %v; want key1", first, err)
	}
	expiry := time.Now().Add(time.Second) // long enough to arrive unexpired on a loaded machine
	h.print(t, `{"key": "`+key2+`", "expires_at": "`+expiry.Format(time.RFC3339Nano)+`"}`)
	second, err := cache.Invalidate(ctx, first)
	if err != nil || second.Key != key2 {
		t.Fatalf("Invalidate(key1) = %v, %v; want key2", second, err)
	}
	h.print(t, key3)
	time.Sleep(time.Until(expiry) + 10*time.Millisecond)
	third, err := cache.Retrieve(ctx)
	if err != nil || third.Key != key3 {
		t.Fatalf("Retrieve after key2 expired = %v, %v; want key3", third, err)
	}

	runs, log := h.runs(t)
	want := [][2]string{{"initial", "-"}, {"rejected", Redact(key1)}, {"expired", "-"}}
	if len(runs) != len(want) {
		t.Fatalf("the command ran %d times, want %d: %q", len(runs), len(want), runs)
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Errorf("run %d saw %s=%q and %s=%q, want %q and %q",
				i+1, ExecReasonEnv, runs[i][0], ExecRejectedKeyEnv, runs[i][1], want[i][0], want[i][1])
		}
	}
	for _, key := range []string{key1, key2, key3} {
		if strings.Contains(log, key) {
			t.Errorf("the command's environment holds a key (%s)", Redact(key))
		}
	}
}

// Env replaces the inherited environment: set to an empty list, the
// command sees nothing but what rekey adds.
func TestExecEmptyEnvironment(t *testing.T) {
	h := newEnvHelper(t)
	h.Env = []string{}
	h.print(t, execSecret)
	rejected := Credential{Key: execSecret + "_old"}
	if got, err := h.Refresh(context.Background(), rejected); err != nil || got.Key != execSecret {
		t.Fatalf("Refresh = %v, %v; want the printed key", got, err)
	}
	runs, log := h.runs(t)
	if want := [2]string{"rejected", Redact(rejected.Key)}; len(runs) != 1 || runs[0] != want {
		t.Errorf("the command saw %q, want one run with %q", runs, want)
	}
	for _, inherited := range []string{"HOME=", "PATH="} {
		if strings.Contains(log, "\n"+inherited) {
			t.Errorf("the command inherited %s… although Env is empty:\n%s", inherited, log)
		}
	}
}

// Called directly, the provider says only what it knows, and an inherited
// variable of the same name never reaches the command.
func TestExecEnvironmentWithoutCache(t *testing.T) {
	rejected := Credential{Key: execSecret + "_old"}
	inherited := []string{ExecReasonEnv + "=stale", ExecRejectedKeyEnv + "=sk_stale…0000"}
	cases := []struct {
		name string
		env  []string // added to the environment; nil: Env unset
		call func(p *ExecProvider) (Credential, error)
		want [2]string
	}{{
		name: "Retrieve",
		call: func(p *ExecProvider) (Credential, error) { return p.Retrieve(context.Background()) },
		want: [2]string{"-", "-"},
	}, {
		name: "Retrieve with inherited variables",
		env:  inherited,
		call: func(p *ExecProvider) (Credential, error) { return p.Retrieve(context.Background()) },
		want: [2]string{"-", "-"},
	}, {
		name: "Refresh is for a rejected key",
		env:  inherited,
		call: func(p *ExecProvider) (Credential, error) { return p.Refresh(context.Background(), rejected) },
		want: [2]string{"rejected", Redact(rejected.Key)},
	}, {
		name: "Refresh ahead of expiry",
		call: func(p *ExecProvider) (Credential, error) {
			return p.Refresh(WithRefreshReason(context.Background(), ReasonExpiring), rejected)
		},
		want: [2]string{"expiring", "-"},
	}, {
		name: "Retrieve for the first key",
		call: func(p *ExecProvider) (Credential, error) {
			return p.Retrieve(WithRefreshReason(context.Background(), ReasonInitial))
		},
		want: [2]string{"initial", "-"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newEnvHelper(t, tc.env...)
			h.print(t, execSecret)
			if got, err := tc.call(h.ExecProvider); err != nil || got.Key != execSecret {
				t.Fatalf("got %v, %v; want the printed key", got, err)
			}
			runs, log := h.runs(t)
			if len(runs) != 1 || runs[0] != tc.want {
				t.Fatalf("the command saw %q, want one run with %q", runs, tc.want)
			}
			if strings.Contains(log, rejected.Key) {
				t.Error("the command's environment holds the rejected key")
			}
		})
	}
}
