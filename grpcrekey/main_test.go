package grpcrekey_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/rekeyhq/rekey"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newSecret() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// leaks returns the secrets that err shows in its text or in any fmt verb,
// its *rekey.APIError included.
func leaks(err error, secrets []string) []string {
	text := err.Error() + fmt.Sprintf(" %v %+v %#v %s %q", err, err, err, err, err)
	var apiErr *rekey.APIError
	if errors.As(err, &apiErr) {
		text += fmt.Sprintf(" %v %+v %#v", *apiErr, *apiErr, apiErr)
	}
	return leaksIn(text, secrets)
}

// leaksIn returns the secrets that text contains, shortened.
func leaksIn(text string, secrets []string) []string {
	var found []string
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			found = append(found, s[:4]+"…")
		}
	}
	return found
}
