package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// repoURL is where the CHANGELOG's links point.
const repoURL = "https://github.com/rekeyhq/rekey"

// Bump prepares version: every module's requirement of one of the
// repository's modules becomes version, and CHANGELOG.md's Unreleased
// entries move into a section for version dated date. It returns the tags
// to push, the core's first.
func Bump(ws *Workspace, version, date string) ([]string, error) {
	changelog, err := ws.ReadChangelog()
	if err != nil {
		return nil, err
	}
	updated, err := PrepareRelease(changelog, version, date, repoURL)
	if err != nil {
		return nil, err
	}
	core := ws.Core().Path
	for _, m := range ws.Modules[1:] {
		changed := false
		for _, r := range m.File.Require {
			if (r.Mod.Path == core || strings.HasPrefix(r.Mod.Path, core+"/")) && r.Mod.Version != version {
				if err := m.File.AddRequire(r.Mod.Path, version); err != nil {
					return nil, fmt.Errorf("release: %s/go.mod: %w", m.Dir, err)
				}
				changed = true
			}
		}
		if !changed {
			continue
		}
		m.File.Cleanup()
		data, err := m.File.Format()
		if err != nil {
			return nil, fmt.Errorf("release: %s/go.mod: %w", m.Dir, err)
		}
		if err := os.WriteFile(filepath.Join(ws.Abs(m), "go.mod"), data, 0o644); err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(ws.Root, "CHANGELOG.md"), []byte(updated), 0o644); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	var tags []string
	for _, m := range ws.Libraries() {
		tags = append(tags, m.TagPrefix()+version)
	}
	return tags, nil
}
