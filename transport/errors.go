package transport

// CredentialError is returned when the Transport could not obtain a key to
// send: the provider (or the refresh hook, for the first key) failed, after
// the Cache's own bounded retries. Nothing was sent. Err says why; errors.Is
// sees through it (to credentials.ErrNoCredentials, credentials.ErrMalformedKey,
// a context error, or the provider's own error). [Retry] does not retry it.
type CredentialError struct {
	Method string
	URL    string // scheme, host and path only
	Err    error
}

// Error names the request and why no key was available.
func (e *CredentialError) Error() string {
	return "rekey: no API key for " + e.Method + " " + e.URL + ": " + e.Err.Error()
}

// Unwrap returns why no key was available.
func (e *CredentialError) Unwrap() error { return e.Err }

func credentialError(method, url string, err error) error {
	return &CredentialError{Method: method, URL: url, Err: err}
}
