package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// The CHANGELOG follows Keep a Changelog: "## [Unreleased]" on top, then one
// "## [X.Y.Z] - YYYY-MM-DD" section per release, newest first, and link
// references at the end.
var (
	releaseHeading    = regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\] - (\d{4}-\d{2}-\d{2})[ \t]*$`)
	unreleasedHeading = regexp.MustCompile(`(?m)^## \[Unreleased\][ \t]*$`)
	anyHeading2       = regexp.MustCompile(`(?m)^## `)
	linkReference     = regexp.MustCompile(`(?m)^\[[^\]]+\]: \S+[ \t]*$`)
)

// Released returns the versions the changelog has sections for, newest
// first, as Go versions ("v0.1.0").
func Released(changelog string) []string {
	var out []string
	for _, m := range releaseHeading.FindAllStringSubmatch(changelog, -1) {
		out = append(out, "v"+m[1])
	}
	return out
}

// Newest returns the newest release the changelog names, or an error that
// says how to name one.
func Newest(changelog string) (string, error) {
	r := Released(changelog)
	if len(r) == 0 {
		return "", errors.New(`release: CHANGELOG.md names no release: prepare one with "go run ./internal/release bump vX.Y.Z"`)
	}
	return r[0], nil
}

// PrepareRelease returns changelog with the Unreleased section's entries
// moved into a section for version, dated date, and an empty Unreleased
// section above it. If version is already the newest section (a release
// prepared but not yet tagged), the Unreleased entries are added to it and
// its date updated. Link references for both headings are kept up to date.
func PrepareRelease(changelog, version, date, repoURL string) (string, error) {
	if !semver.IsValid(version) || semver.Canonical(version) != version || semver.Build(version) != "" {
		return "", fmt.Errorf("release: %q is not a version to release: use vMAJOR.MINOR.PATCH, for example v0.2.0", version)
	}
	loc := unreleasedHeading.FindStringIndex(changelog)
	if loc == nil {
		return "", errors.New("release: CHANGELOG.md has no \"## [Unreleased]\" section")
	}
	bodyStart := loc[1]
	bodyEnd := len(changelog)
	if next := anyHeading2.FindStringIndex(changelog[bodyStart:]); next != nil {
		bodyEnd = bodyStart + next[0]
	} else if ref := linkReference.FindStringIndex(changelog[bodyStart:]); ref != nil {
		bodyEnd = bodyStart + ref[0]
	}
	entries := strings.TrimSpace(changelog[bodyStart:bodyEnd])
	number := strings.TrimPrefix(version, "v")
	rest := changelog[bodyEnd:]

	released := Released(changelog)
	var newest string
	if len(released) > 0 {
		newest = released[0]
	}
	switch {
	case newest == version:
		// Prepared before, not tagged yet: fold the new entries in.
		m := releaseHeading.FindStringSubmatchIndex(rest)
		sectionBody := rest[m[1]:]
		end := len(sectionBody)
		if next := anyHeading2.FindStringIndex(sectionBody); next != nil {
			end = next[0]
		} else if ref := linkReference.FindStringIndex(sectionBody); ref != nil {
			end = ref[0]
		}
		merged := mergeSections(strings.TrimSpace(sectionBody[:end]), entries)
		rest = rest[:m[0]] + "## [" + number + "] - " + date + "\n\n" + merged + "\n\n" + strings.TrimLeft(sectionBody[end:], "\n")
	case newest != "" && semver.Compare(version, newest) <= 0:
		return "", fmt.Errorf("release: %s is not newer than %s, the newest release in CHANGELOG.md", version, newest)
	case entries == "":
		return "", errors.New("release: the Unreleased section of CHANGELOG.md is empty: say what changed before releasing")
	default:
		rest = "## [" + number + "] - " + date + "\n\n" + entries + "\n\n" + strings.TrimLeft(rest, "\n")
	}
	out := changelog[:bodyStart] + "\n\n" + rest
	return setLinks(out, version, repoURL), nil
}

// mergeSections adds the entries of add to base, grouping them under the
// same "### Kind" subheadings (Added, Changed, Fixed, ...).
func mergeSections(base, add string) string {
	if add == "" {
		return base
	}
	order, groups := splitGroups(base)
	addOrder, addGroups := splitGroups(add)
	for _, h := range addOrder {
		if _, ok := groups[h]; !ok {
			order = append(order, h)
		}
		groups[h] = append(groups[h], addGroups[h]...)
	}
	var b strings.Builder
	for i, h := range order {
		if i > 0 {
			b.WriteString("\n\n")
		}
		if h != "" {
			b.WriteString(h + "\n\n")
		}
		b.WriteString(strings.Join(groups[h], "\n"))
	}
	return b.String()
}

// splitGroups splits a section's body by its "### " subheadings, keeping
// each group's lines (blank lines at the ends trimmed).
func splitGroups(body string) ([]string, map[string][]string) {
	var order []string
	groups := map[string][]string{}
	current := ""
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "### ") {
			current = strings.TrimSpace(line)
			if _, ok := groups[current]; !ok {
				order = append(order, current)
				groups[current] = nil
			}
			continue
		}
		if _, ok := groups[current]; !ok {
			order = append(order, current)
		}
		groups[current] = append(groups[current], line)
	}
	for h, lines := range groups {
		groups[h] = trimBlank(lines)
	}
	var kept []string
	for _, h := range order {
		if len(groups[h]) > 0 || h != "" {
			kept = append(kept, h)
		}
	}
	return kept, groups
}

func trimBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// setLinks rewrites the link references at the end of the changelog so that
// [Unreleased] compares against the new tag and [X.Y.Z] points at it.
func setLinks(changelog, version, repoURL string) string {
	number := strings.TrimPrefix(version, "v")
	lines := strings.Split(strings.TrimRight(changelog, "\n"), "\n")
	var kept []string
	for _, l := range lines {
		if strings.HasPrefix(l, "[Unreleased]: ") || strings.HasPrefix(l, "["+number+"]: ") {
			continue
		}
		kept = append(kept, l)
	}
	refs := []string{
		"[Unreleased]: " + repoURL + "/compare/" + version + "...HEAD",
		"[" + number + "]: " + repoURL + "/releases/tag/" + version,
	}
	// Link references go after the last section, before older references.
	at := len(kept)
	for i := len(kept) - 1; i >= 0 && (linkReference.MatchString(kept[i]) || strings.TrimSpace(kept[i]) == ""); i-- {
		if linkReference.MatchString(kept[i]) {
			at = i
		}
	}
	if at == len(kept) {
		kept = append(kept, "")
		at = len(kept)
	}
	out := append(append(append([]string{}, kept[:at]...), refs...), kept[at:]...)
	return blankRuns.ReplaceAllString(strings.Join(out, "\n"), "\n\n") + "\n"
}

// blankRuns matches two or more blank lines in a row.
var blankRuns = regexp.MustCompile(`\n{3,}`)
