package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/zip"
)

// CheckFiles reports every file of every module that a module zip may not
// hold (a name reserved on Windows, two names equal but for case, ...):
// such a module cannot be served by any module proxy, so nobody could go
// get it. It also reports files a zip would silently leave out (a symbolic
// link, a vendor directory). Files of nested modules are checked with their
// own module.
func CheckFiles(ws *Workspace) error {
	var problems []string
	for _, m := range ws.Modules {
		files, err := zip.CheckDir(ws.Abs(m))
		for _, f := range files.Invalid {
			rel, _ := filepath.Rel(ws.Root, f.Path)
			problems = append(problems, fmt.Sprintf("%s: %v", filepath.ToSlash(rel), f.Err))
		}
		for _, f := range files.Omitted {
			if expectedOmission(f.Err) {
				continue
			}
			rel, _ := filepath.Rel(ws.Root, f.Path)
			problems = append(problems, fmt.Sprintf("%s: %v, so it would be left out of the module", filepath.ToSlash(rel), f.Err))
		}
		if files.SizeError != nil {
			problems = append(problems, fmt.Sprintf("module %s: %v", m.Path, files.SizeError))
		}
		if err != nil && len(files.Invalid) == 0 && files.SizeError == nil {
			problems = append(problems, fmt.Sprintf("module %s: %v", m.Path, err))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("release: files no module proxy would serve (rename or remove them):\n\t%s", strings.Join(problems, "\n\t"))
	}
	return nil
}

// expectedOmission reports whether a file left out of a module zip for
// reason err is meant to be left out: it belongs to a nested module, or it
// is version control data. Anything else (a symbolic link, a vendor
// directory) would silently vanish from the module users get.
func expectedOmission(err error) bool {
	switch err.Error() {
	case "file is in another module", "directory is in another module", "directory is a version control repository":
		return true
	}
	return false
}

// CheckVersions reports a nested module that requires one of the
// repository's modules at another version than version (the release being
// prepared), a replace of one of them that does not point at its directory,
// and a replace of anything else in a library module (dependents ignore
// replace, so users would build with something we never tested).
func CheckVersions(ws *Workspace, version string) error {
	var problems []string
	core := ws.Core().Path
	own := func(path string) bool { return path == core || strings.HasPrefix(path, core+"/") }
	for _, m := range ws.Modules {
		if m.Dir == "." {
			if len(m.File.Replace) > 0 {
				problems = append(problems, "go.mod (core): has replace directives, which users of the core ignore; remove them")
			}
			continue
		}
		for _, r := range m.File.Require {
			if own(r.Mod.Path) && r.Mod.Version != version {
				problems = append(problems, fmt.Sprintf("%s/go.mod: requires %s %s, but the release being prepared is %s (run: go run ./internal/release bump %s)", m.Dir, r.Mod.Path, r.Mod.Version, version, version))
			}
		}
		for _, r := range m.File.Replace {
			if !own(r.Old.Path) {
				if m.Library() {
					problems = append(problems, fmt.Sprintf("%s/go.mod: replaces %s, which users of %s ignore: require the version it needs instead", m.Dir, r.Old.Path, m.Path))
				}
				continue
			}
			target := ws.dirOf(r.Old.Path)
			want, _ := filepath.Rel(ws.Abs(m), filepath.Join(ws.Root, filepath.FromSlash(target)))
			if r.New.Version != "" || filepath.ToSlash(filepath.Clean(r.New.Path)) != filepath.ToSlash(want) {
				problems = append(problems, fmt.Sprintf("%s/go.mod: replaces %s with %s; for local development it must be the directory %s", m.Dir, r.Old.Path, r.New.Path, filepath.ToSlash(want)))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New("release: module requirements do not agree:\n\t" + strings.Join(problems, "\n\t"))
	}
	return nil
}

// dirOf returns the directory of the module with the given path, relative
// to the root, whether or not go.work uses it.
func (ws *Workspace) dirOf(path string) string {
	core := ws.Core().Path
	if path == core {
		return "."
	}
	return strings.TrimPrefix(path, core+"/")
}

// ReadChangelog returns the text of CHANGELOG.md at the root.
func (ws *Workspace) ReadChangelog() (string, error) {
	data, err := os.ReadFile(filepath.Join(ws.Root, "CHANGELOG.md"))
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	return string(data), nil
}

// Check runs every check: module files, and requirements against the
// newest release CHANGELOG.md names.
func Check(ws *Workspace) error {
	changelog, err := ws.ReadChangelog()
	if err != nil {
		return err
	}
	version, err := Newest(changelog)
	if err != nil {
		return err
	}
	return errors.Join(CheckFiles(ws), CheckVersions(ws, version))
}
