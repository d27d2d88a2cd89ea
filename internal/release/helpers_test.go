package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (path relative to root: content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sampleChangelog has an untagged-yet v0.1.0 and entries waiting for the
// next release.
const sampleChangelog = `# Changelog

## [Unreleased]

### Added

- The plugin says goodbye too.

## [0.1.0] - 2026-11-30

### Added

- The first release.

[Unreleased]: https://github.com/rekeyhq/rekey/compare/v0.1.0...HEAD
[0.1.0]: https://github.com/rekeyhq/rekey/releases/tag/v0.1.0
`

// sampleRepo writes a small repository shaped like rekey's: a core module
// example.com/core and a nested library module example.com/core/plugin
// that requires the core at coreVersion (replaced by its directory for
// local development), joined by go.work. It returns the root.
func sampleRepo(t *testing.T, coreVersion string) string {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"go.work":      "go 1.24.0\n\nuse (\n\t.\n\t./plugin\n)\n",
		"go.mod":       "module example.com/core\n\ngo 1.24.0\n",
		"core.go":      "// Package core greets.\npackage core\n\n// Hello returns a greeting.\nfunc Hello() string { return \"hello\" }\n",
		"CHANGELOG.md": sampleChangelog,
		"plugin/go.mod": "module example.com/core/plugin\n\ngo 1.24.0\n\nrequire example.com/core " + coreVersion +
			"\n\nreplace example.com/core => ../\n",
		"plugin/plugin.go":      "// Package plugin extends core.\npackage plugin\n\nimport \"example.com/core\"\n\n// Greet greets twice.\nfunc Greet() string { return core.Hello() + \" \" + core.Hello() }\n",
		"internal/tool/go.mod":  "module example.com/core/internal/tool\n\ngo 1.24.0\n",
		"internal/tool/main.go": "package main\n\nfunc main() {}\n",
	})
	return root
}

func loadSample(t *testing.T, root string) *Workspace {
	t.Helper()
	ws, err := LoadWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// goCmd runs the go command in dir as a user outside the repository
// would: no workspace, modules only from the file proxy at proxyDir,
// an empty module cache of its own.
func goCmd(t *testing.T, dir, proxyDir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOWORK=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOPROXY=file://"+filepath.ToSlash(proxyDir),
		"GONOSUMDB=example.com",
		"GOMODCACHE="+filepath.Join(filepath.Dir(proxyDir), "modcache"),
		"GOTOOLCHAIN=local",
	)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
