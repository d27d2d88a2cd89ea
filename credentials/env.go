package credentials

import (
	"context"
	"fmt"
	"os"
)

// Env returns a Provider that reads the key from the environment variable
// name on every Retrieve, so a variable changed at run time is picked up on
// the next refresh. Surrounding whitespace is trimmed. An unset or empty
// variable yields an error matching [ErrNoCredentials]; a malformed value one
// matching [ErrMalformedKey]. Neither prints the value.
func Env(name string) Provider { return envProvider(name) }

type envProvider string

func (e envProvider) Retrieve(context.Context) (Credential, error) {
	name := string(e)
	if name == "" {
		return Credential{}, unavailable("credentials.Env was given an empty variable name", nil)
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return Credential{}, unavailable(fmt.Sprintf("environment variable %s is not set: export it with your API key", name), nil)
	}
	key := trimKey(v)
	if key == "" {
		return Credential{}, unavailable(fmt.Sprintf("environment variable %s is empty: set it to your API key", name), nil)
	}
	if err := validateFrom("environment variable "+name, key); err != nil {
		return Credential{}, err
	}
	return Credential{Key: key}, nil
}

// String names the variable (never its value).
func (e envProvider) String() string { return fmt.Sprintf("credentials.Env(%q)", string(e)) }
