package vault_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/credentials/vault"
)

const (
	mount     = "secret"
	path      = "myapp/billing"
	mountPath = mount + "/" + path
	field     = "api_key"

	key1 = "sk_live_51HxJk2eZvKYlo2CQ4aPq9f2c"
	key2 = "sk_live_7TgW1mNcR8sLx0pVq3EyuB5d"
	// otherValue is a second secret value stored beside the key; it must
	// never show up anywhere either.
	otherValue = "db-password-Zq8xW2pLk9"
)

// secretsOf lists what must never appear in an error, a log line or a
// formatted value.
var secretsOf = []string{key1, key2, otherValue, testToken, "51HxJk2eZvKYlo2CQ4aPq9f2c", "7TgW1mNcR8sLx0pVq3EyuB5d"}

func newProvider(t testing.TB, f *fakeVault, opts ...vault.Option) *vault.Provider {
	t.Helper()
	p, err := vault.New(f.client(t), mount, path, field, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keyData(key string) map[string]any {
	return map[string]any{field: key, "db_password": otherValue}
}

// assertNoSecret checks every fmt verb and both slog handlers on v.
func assertNoSecret(t *testing.T, what string, v any, more ...string) {
	t.Helper()
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, v))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("event", "value", v)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("event", "value", v)
	if err, ok := v.(error); ok {
		slog.New(slog.NewTextHandler(&buf, nil)).Error("failed", "err", err)
		outs = append(outs, err.Error())
	}
	outs = append(outs, buf.String())
	for _, out := range outs {
		for _, s := range append(more, secretsOf...) {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks a secret: %s", what, out)
			}
		}
	}
}
