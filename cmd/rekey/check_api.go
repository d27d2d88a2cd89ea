package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/transport"
)

// checkRequest is the request rekey check sends and how it reads the answer.
type checkRequest struct {
	method  string
	url     string
	body    []byte
	headers map[string]string
	place   []rekey.Option    // where the key goes
	reject  transport.Matcher // which answers are the invalid-key rejection
	hint    string            // for a 401, 403 or 404 that is not a rejection
}

// findPreset returns the preset named name.
func findPreset(name string) (apiPreset, bool) {
	i := slices.IndexFunc(apiPresets, func(p apiPreset) bool { return p.Name == name })
	if i < 0 {
		return apiPreset{}, false
	}
	return apiPresets[i], true
}

// presetRequest builds the request for --api cfg.api, with --base-url and
// --basic-user where the preset takes them.
func (cfg *checkConfig) presetRequest() (checkRequest, error) {
	p, ok := findPreset(strings.ToLower(strings.TrimSpace(cfg.api)))
	if !ok {
		return checkRequest{}, fmt.Errorf("--api %q: no such API; run 'rekey check --list-apis' for the names%s", cfg.api, didYouMean(cfg.api))
	}
	var conflicts []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"--url", cfg.url != ""}, {"--header", cfg.header != ""}, {"--basic-password", cfg.basicP.set}} {
		if f.set {
			conflicts = append(conflicts, f.name)
		}
	}
	if len(conflicts) > 0 {
		return checkRequest{}, fmt.Errorf("--api and %s conflict: --api %s knows the URL and where the key goes (%s); change the host with --base-url, or give the whole request with --url instead of --api",
			strings.Join(conflicts, " and "), p.Name, p.placement())
	}
	if cfg.basicU.set && p.NeedsUser == "" {
		return checkRequest{}, fmt.Errorf("--api %s takes no --basic-user: it sends the key as %s", p.Name, p.placement())
	}
	if p.NeedsUser != "" && !cfg.basicU.set {
		return checkRequest{}, fmt.Errorf("--api %s needs --basic-user: %s", p.Name, p.NeedsUser)
	}
	base := p.Base
	if cfg.baseURL != "" {
		b, err := checkBaseURL(cfg.baseURL)
		if err != nil {
			return checkRequest{}, err
		}
		base = b
	} else if p.NeedsBase != "" {
		return checkRequest{}, fmt.Errorf("--api %s needs --base-url: %s", p.Name, p.NeedsBase)
	}
	path := strings.ReplaceAll(p.Path, "{user}", url.PathEscape(cfg.basicU.value))
	req := checkRequest{
		method:  p.method(),
		url:     base + path,
		headers: p.Headers,
		place:   p.options(cfg.basicU.value),
		reject:  p.matcher(),
		hint:    "the key may be valid but not allowed to make this request",
	}
	if p.Body != "" {
		req.body = []byte(p.Body)
	}
	if p.Note != "" {
		req.hint += " (" + p.Note + ")"
	}
	return req, nil
}

// checkBaseURL checks --base-url and returns it without a trailing slash.
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("--base-url: %v", err)
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "", fmt.Errorf("--base-url %s: want an absolute http or https URL, such as https://api.example.com", redactURL(raw))
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("--base-url %s: want a scheme, a host and at most a path prefix, without user information, query or fragment", redactURL(raw))
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func (p apiPreset) method() string {
	if p.Method == "" {
		return http.MethodGet
	}
	return p.Method
}

// options are the Client options that put the key where p says.
func (p apiPreset) options(user string) []rekey.Option {
	switch {
	case p.KeyAsUser:
		return []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsUser(""))}
	case p.NeedsUser != "":
		return []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsPassword(user))}
	case p.BasicUser != "":
		return []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsPassword(p.BasicUser))}
	case p.Query != "":
		return []rekey.Option{rekey.WithQueryParam(p.Query)}
	}
	var opts []rekey.Option
	if p.Header != "" {
		opts = append(opts, rekey.WithHeader(p.Header))
	}
	if p.Scheme != "" {
		opts = append(opts, rekey.WithScheme(p.Scheme))
	}
	return opts
}

// matcher recognises the default rejections, those of the matcher the
// corpus names for the API, and the status the endpoint reserves for a
// rejected key.
func (p apiPreset) matcher() transport.Matcher {
	ms := []transport.Matcher{transport.IsInvalidKeyRejection}
	switch p.Matcher {
	case "slack":
		ms = append(ms, transport.Slack())
	case "graphql":
		ms = append(ms, transport.GraphQL())
	}
	if status := p.Rejects; status != 0 {
		ms = append(ms, func(resp *http.Response, _ func() []byte) bool { return resp.StatusCode == status })
	}
	return transport.AnyOf(ms...)
}

// placement says where the key goes, for --list-apis and errors.
func (p apiPreset) placement() string {
	switch {
	case p.KeyAsUser:
		return "Basic KEY: (empty password)"
	case p.NeedsUser != "":
		return "Basic USER:KEY"
	case p.BasicUser != "":
		return "Basic " + p.BasicUser + ":KEY"
	case p.Query != "":
		return "?" + p.Query + "=KEY"
	case p.Header != "":
		return p.Header + ": KEY"
	case p.Scheme == transport.NoScheme:
		return "Authorization: KEY"
	case p.Scheme != "":
		return "Authorization: " + p.Scheme + " KEY"
	}
	return "Authorization: Bearer KEY"
}

// listAPIs prints the presets: name, request, where the key goes, and what
// else the command needs.
func listAPIs(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "API\tREQUEST\tKEY\tALSO NEEDS")
	for _, p := range apiPresets {
		var needs []string
		if p.NeedsBase != "" {
			needs = append(needs, "--base-url")
		}
		if p.NeedsUser != "" {
			needs = append(needs, "--basic-user")
		}
		fmt.Fprintf(tw, "%s\t%s %s%s\t%s\t%s\n", p.Name, p.method(), p.Base, strings.ReplaceAll(p.Path, "{user}", "USER"), p.placement(), strings.Join(needs, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d APIs. Each request is documented by the API's vendor (docs/command.md lists the links).\n", len(apiPresets))
	fmt.Fprintln(w, "--base-url replaces the scheme and host, for another region, a sandbox or your own server.")
}

// didYouMean suggests the presets whose names contain name, or that name
// contains.
func didYouMean(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return ""
	}
	var close []string
	for _, p := range apiPresets {
		if strings.Contains(p.Name, name) || strings.Contains(name, p.Name) {
			close = append(close, p.Name)
		}
	}
	if len(close) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(close, " or ") + "?)"
}

// errNoAPI is returned when neither --url nor --api names the request.
var errNoAPI = errors.New("--url is required, such as --url https://api.example.com/v1/me, unless --api names the API, such as --api openai (rekey check --list-apis lists them)")
