package gcpsm

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Resource names, as Secret Manager documents them
// (https://cloud.google.com/secret-manager/docs/reference/rpc/google.cloud.secretmanager.v1):
// a secret is projects/PROJECT/secrets/SECRET, or
// projects/PROJECT/locations/LOCATION/secrets/SECRET for a regional secret;
// its versions are that name plus /versions/VERSION.
var (
	// A project ID (6 to 30 lowercase letters, digits and hyphens, starting
	// with a letter; older ones may carry a "domain:" prefix) or a project
	// number.
	projectRE = regexp.MustCompile(`^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[0-9]{1,20}$`)
	// A secret ID: up to 255 letters, digits, hyphens and underscores.
	secretIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// A location, such as us-central1.
	locationRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	// A version alias: a letter, then up to 62 letters, digits, hyphens and
	// underscores (https://cloud.google.com/secret-manager/docs/assign-alias-to-secret-version).
	aliasRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)
)

// parseName splits the name given to New into the secret's resource name and
// the version it names, if any ("" when the name has no /versions/ part).
func parseName(name string) (secret, version string, err error) {
	if name == "" {
		return "", "", errors.New("empty secret name: give projects/PROJECT/secrets/SECRET")
	}
	if strings.TrimSpace(name) != name {
		return "", "", fmt.Errorf("secret name %q has surrounding whitespace", truncate(name))
	}
	parts := strings.Split(name, "/")
	if parts[0] != "projects" {
		if len(parts) == 1 && secretIDRE.MatchString(name) {
			return "", "", fmt.Errorf("%q is a secret ID; give the full resource name projects/PROJECT/secrets/%s", name, name)
		}
		return "", "", fmt.Errorf("secret name %q does not start with projects/: give projects/PROJECT/secrets/SECRET "+
			"(or projects/PROJECT/locations/LOCATION/secrets/SECRET for a regional secret)", truncate(name))
	}
	n := 4 // projects/P/secrets/S
	if len(parts) > 2 && parts[2] == "locations" {
		n = 6 // projects/P/locations/L/secrets/S
	}
	switch {
	case len(parts) == n:
	case len(parts) == n+2 && parts[n] == "versions":
		version = parts[n+1]
		if err := checkVersion(version); err != nil {
			return "", "", fmt.Errorf("secret name %q: %w", truncate(name), err)
		}
	default:
		return "", "", fmt.Errorf("secret name %q is not of the form projects/PROJECT/secrets/SECRET[/versions/VERSION] "+
			"or projects/PROJECT/locations/LOCATION/secrets/SECRET[/versions/VERSION]", truncate(name))
	}
	if !projectRE.MatchString(parts[1]) {
		return "", "", fmt.Errorf("secret name %q: %q is not a project ID or number", truncate(name), truncate(parts[1]))
	}
	if n == 6 && !locationRE.MatchString(parts[3]) {
		return "", "", fmt.Errorf("secret name %q: %q is not a location such as us-central1", truncate(name), truncate(parts[3]))
	}
	if parts[n-2] != "secrets" {
		return "", "", fmt.Errorf("secret name %q: expected \"secrets\" where it has %q", truncate(name), truncate(parts[n-2]))
	}
	if !secretIDRE.MatchString(parts[n-1]) {
		return "", "", fmt.Errorf("secret name %q: the secret ID %q may hold only letters, digits, hyphens and underscores (at most 255)",
			truncate(name), truncate(parts[n-1]))
	}
	return strings.Join(parts[:n], "/"), version, nil
}

// checkVersion accepts "latest", a version number (from 1) or an alias.
func checkVersion(v string) error {
	switch {
	case v == VersionLatest:
		return nil
	case v == "":
		return errors.New(`empty version: give "latest", a version number or an alias`)
	case isNumber(v):
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 1 || v[0] == '0' {
			return fmt.Errorf("version %q: version numbers start at 1", truncate(v))
		}
		return nil
	case strings.EqualFold(v, "latest") || strings.EqualFold(v, "new"):
		return fmt.Errorf(`version %q: write "latest" in lowercase (%q is not an alias Secret Manager allows)`, v, v)
	case aliasRE.MatchString(v):
		return nil
	}
	return fmt.Errorf(`version %q is neither "latest", a version number nor an alias (a letter, then up to 62 letters, digits, hyphens or underscores)`, truncate(v))
}

// kindOf says what a version names: "latest", a pinned number, or an alias.
type versionKind int

const (
	kindLatest versionKind = iota
	kindNumber
	kindAlias
)

func kindOf(v string) versionKind {
	switch {
	case v == VersionLatest:
		return kindLatest
	case isNumber(v):
		return kindNumber
	}
	return kindAlias
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// versionID returns the last segment of a version's resource name: the
// version number the service resolved "latest" or an alias to. The service
// answers with the project's number where the request named its ID, so
// versions are compared by this number only.
func versionID(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// shortID returns the SECRET of projects/P/secrets/SECRET, for gcloud hints.
func shortID(secret string) string {
	return secret[strings.LastIndexByte(secret, '/')+1:]
}

// projectOf returns the PROJECT of projects/PROJECT/...
func projectOf(secret string) string {
	return strings.Split(secret, "/")[1]
}

// locationOf returns the LOCATION of a regional secret's name, or "".
func locationOf(secret string) string {
	parts := strings.Split(secret, "/")
	if len(parts) == 6 {
		return parts[3]
	}
	return ""
}

// gcloudFlags are the flags that name the secret's project (and location)
// in a gcloud secrets command.
func gcloudFlags(secret string) string {
	s := " --project=" + projectOf(secret)
	if loc := locationOf(secret); loc != "" {
		s += " --location=" + loc
	}
	return s
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
