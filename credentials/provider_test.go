package credentials_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

const goodKey = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"

func TestValidate(t *testing.T) {
	tests := []struct {
		name, key, problem string
	}{
		{"good", goodKey, ""},
		{"empty", "", "empty"},
		{"trailing newline", goodKey + "\n", "leading or trailing whitespace"},
		{"double quotes", `"` + goodKey + `"`, "quotes"},
		{"single quotes", "'" + goodKey + "'", "quotes"},
		{"bearer prefix", "Bearer " + goodKey, `"Bearer" scheme`},
		{"lowercase bearer", "bearer " + goodKey, `"bearer" scheme`},
		{"space inside", goodKey[:10] + " " + goodKey[10:], "whitespace at byte 11"},
		{"line break inside", goodKey[:10] + "\r\n" + goodKey[10:], "line break at byte 11"},
		{"control character", goodKey[:5] + "\x00" + goodKey[5:], "control character at byte 6"},
		{"smart quote", "\u201c" + goodKey + "\u201d", "non-ASCII character at byte 1 "},
		{"look-alike letter", goodKey[:9] + "\u0430" + goodKey[9:], "non-ASCII character at byte 10 "},
		{"only a pair of quotes", `""`, "quotes"}, // API_KEY="" read without unquoting
		{"too short", "abc123", "only 6 characters"},
		{"the shortest accepted", "abc12345", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := credentials.Validate(tt.key)
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, credentials.ErrMalformedKey) {
				t.Fatalf("Validate = %v, want ErrMalformedKey", err)
			}
			if !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("error %q does not name the problem %q", err, tt.problem)
			}
			if strings.Contains(err.Error(), goodKey[8:]) {
				t.Errorf("error prints the key: %v", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ key, want string }{
		{"", `""`},
		{"short-key", "****"},
		{goodKey, "sk_live_…p7dc"},
		{"0123456789abcdefghij", "…ghij"},
		{"ghp-abcdefghijklmnopqrstu", "ghp-…rstu"},
		{"sk_live_abcd1234", "sk_live_…1234"}, // 16 bytes: the shortest with a prefix shown
		{"sk_live_abc1234", "****"},           // 15 bytes
		{"-abcdefghijklmnopq", "-…nopq"},      // a separator at the very start is a prefix
	}
	for _, tt := range tests {
		if got := credentials.Redact(tt.key); got != tt.want {
			t.Errorf("Redact(%d-byte key) = %q, want %q", len(tt.key), got, tt.want)
		}
	}
}

func TestCredentialNeverPrintsKey(t *testing.T) {
	c := credentials.Credential{Key: goodKey, Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	secret := goodKey[8 : len(goodKey)-4]
	var out strings.Builder
	for _, v := range []any{c, &c, []credentials.Credential{c}, struct{ C credentials.Credential }{c}, map[string]credentials.Credential{"x": c}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		b, _ := json.Marshal(v)
		out.Write(b)
		slog.New(slog.NewTextHandler(&out, nil)).Info("cred", "c", v)
		slog.New(slog.NewJSONHandler(&out, nil)).Info("cred", "c", v)
	}
	if strings.Contains(out.String(), secret) {
		t.Errorf("key printed in:\n%s", out.String())
	}
	if got := c.String(); got != "Credential{Key: sk_live_…p7dc, Expiry: 2030-01-02T03:04:05Z}" {
		t.Errorf("String() = %q", got)
	}
	if got := fmt.Sprintf("%#v", c); !strings.HasPrefix(got, `credentials.Credential{Key:"sk_live_…p7dc"`) {
		t.Errorf("GoString = %q", got)
	}
}

func TestStatic(t *testing.T) {
	got, err := credentials.Static("  " + goodKey + "\n").Retrieve(context.Background())
	if err != nil || got.Key != goodKey {
		t.Fatalf("Static trims surrounding whitespace: got %v, %v", got, err)
	}
	if s := fmt.Sprintf("%v %+v %#v", credentials.Static(goodKey), credentials.Static(goodKey), credentials.Static(goodKey)); strings.Contains(s, goodKey[8:20]) {
		t.Errorf("Static prints its key: %s", s)
	}
}

func TestEnvReReadsEveryRetrieve(t *testing.T) {
	const name = "REKEY_TEST_ENV_KEY"
	p := credentials.Env(name)
	t.Setenv(name, goodKey+"\n")
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != goodKey {
		t.Fatalf("Retrieve = %v, %v", got, err)
	}
	rotated := "sk_live_ROTATEDROTATEDROTATED01"
	t.Setenv(name, rotated)
	if got, _ := p.Retrieve(context.Background()); got.Key != rotated {
		t.Errorf("after the variable changed, Retrieve = %v", got)
	}
	t.Setenv(name, `"`+rotated+`"`)
	_, err = p.Retrieve(context.Background())
	if !errors.Is(err, credentials.ErrMalformedKey) || !strings.Contains(err.Error(), "environment variable "+name) {
		t.Errorf("quoted value: %v, want a malformed-key error naming the variable", err)
	}
	os.Unsetenv(name)
	if _, err := p.Retrieve(context.Background()); !errors.Is(err, credentials.ErrNoCredentials) || !strings.Contains(err.Error(), "not set") {
		t.Errorf("unset: %v", err)
	}
}

func TestFileRereadsWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api-key")
	write := func(s string) {
		t.Helper()
		// Write a new file and rename it into place, as secret managers do.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	p := credentials.File(path)
	write(goodKey + "\n")
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != goodKey {
		t.Fatalf("Retrieve = %v, %v", got, err)
	}
	rotated := "sk_live_ROTATEDROTATEDROTATED01"
	write("  " + rotated + "\r\n")
	if got, err := p.Retrieve(context.Background()); err != nil || got.Key != rotated {
		t.Errorf("after rotation Retrieve = %v, %v", got, err)
	}
	if s := fmt.Sprintf("%v %+v %#v", p, p, p); strings.Contains(s, rotated[8:20]) || !strings.Contains(s, path) {
		t.Errorf("File prints %q; want the path and not the key", s)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	secretContent := "sk_live_" + strings.Repeat("Z", 30) + " extra"
	files := map[string]string{
		"empty":     "\n\n",
		"malformed": secretContent,
		"huge":      strings.Repeat("k", 100<<10),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unreadable := filepath.Join(dir, "unreadable")
	os.WriteFile(unreadable, []byte(goodKey), 0o000)
	tests := []struct {
		name, path, want string
		is               error
	}{
		{"missing", filepath.Join(dir, "nope"), "does not exist: create it or fix the path", credentials.ErrNoCredentials},
		{"empty", filepath.Join(dir, "empty"), "is empty", credentials.ErrNoCredentials},
		{"malformed", filepath.Join(dir, "malformed"), "whitespace at byte", credentials.ErrMalformedKey},
		{"directory", dir, "is a directory", nil},
		{"huge", filepath.Join(dir, "huge"), "larger than 64 KiB", nil},
		{"unreadable", unreadable, "not readable", nil},
		{"empty path", "", "empty path", credentials.ErrNoCredentials},
		{"path through a file", filepath.Join(dir, "empty", "key"), "not a directory", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads files regardless of their permissions")
			}
			_, err := credentials.File(tt.path).Retrieve(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if strings.Contains(err.Error(), "ZZZZ") || strings.Contains(err.Error(), "kkkk") {
				t.Errorf("error prints file content: %v", err)
			}
		})
	}
}

// A key file may be up to 64 KiB, whitespace included; one byte more is
// refused.
func TestFileSizeLimit(t *testing.T) {
	const limit = 64 << 10
	for _, tc := range []struct {
		size int
		want string // "": the key is read
	}{
		{limit, ""},
		{limit + 1, "larger than 64 KiB"},
	} {
		path := filepath.Join(t.TempDir(), "api-key")
		content := goodKey + strings.Repeat("\n", tc.size-len(goodKey))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := credentials.File(path).Retrieve(context.Background())
		switch {
		case tc.want == "" && (err != nil || got.Key != goodKey):
			t.Errorf("%d-byte file: Retrieve = %v, %v; want the key", tc.size, got, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%d-byte file: err = %v; want it to say %q", tc.size, err, tc.want)
		}
	}
}

func TestChain(t *testing.T) {
	missing := credentials.File(filepath.Join(t.TempDir(), "missing"))
	unset := credentials.Env("REKEY_TEST_CHAIN_UNSET")
	got, err := credentials.Chain(unset, missing, credentials.Static(goodKey)).Retrieve(context.Background())
	if err != nil || got.Key != goodKey {
		t.Fatalf("Chain = %v, %v; want the static key", got, err)
	}
	_, err = credentials.Chain(unset, missing).Retrieve(context.Background())
	var chainErr *credentials.ChainError
	if !errors.As(err, &chainErr) || len(chainErr.Errs) != 2 || !errors.Is(err, credentials.ErrNoCredentials) {
		t.Fatalf("err = %v, want a ChainError with two causes", err)
	}
	if errors.Is(err, credentials.ErrMalformedKey) {
		t.Errorf("err = %v matches ErrMalformedKey; none of its causes does", err)
	}
	// A chain whose providers all failed has no credentials, whatever
	// their errors were.
	boom := credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
		return credentials.Credential{}, errors.New("key service unreachable")
	})
	if _, err := credentials.Chain(boom).Retrieve(context.Background()); !errors.Is(err, credentials.ErrNoCredentials) {
		t.Errorf("err = %v; want one matching ErrNoCredentials", err)
	}
	for _, want := range []string{"[1] environment variable REKEY_TEST_CHAIN_UNSET is not set", "[2] key file", "does not exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := credentials.Chain(credentials.Static(goodKey)).Retrieve(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if s := fmt.Sprintf("%+v", credentials.Chain(credentials.Static(goodKey), unset)); strings.Contains(s, goodKey[8:20]) {
		t.Errorf("Chain prints a key: %s", s)
	}
}

func TestProviderFuncValidates(t *testing.T) {
	p := credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
		return credentials.Credential{Key: "Bearer " + goodKey}, nil
	})
	if _, err := p.Retrieve(context.Background()); !errors.Is(err, credentials.ErrMalformedKey) {
		t.Errorf("err = %v, want ErrMalformedKey", err)
	}
}
