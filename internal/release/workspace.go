package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// Module is one module of the repository.
type Module struct {
	Dir  string // relative to the repository root, "." for the core
	Path string // module path
	File *modfile.File
}

// Library reports whether m is published for users: the core and every
// nested module except those under internal/ and examples/, which exist
// for rekey's own tests and tools.
func (m Module) Library() bool {
	if m.Dir == "." {
		return true
	}
	for _, private := range []string{"internal/", "examples/"} {
		if strings.HasPrefix(m.Dir+"/", private) {
			return false
		}
	}
	return true
}

// TagPrefix is the prefix of m's version tags: "" for the core, "<dir>/"
// for a nested module, as the go command expects.
func (m Module) TagPrefix() string {
	if m.Dir == "." {
		return ""
	}
	return m.Dir + "/"
}

// Workspace is the repository: its root and the modules go.work joins.
type Workspace struct {
	Root    string
	Modules []Module // the core first, then by directory
}

// FindRoot returns the nearest directory at or above dir that holds go.work
// next to the core's go.mod.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.work")) && fileExists(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("release: no go.work with a go.mod beside it at or above %s: run this inside the rekey repository", dir)
		}
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// LoadWorkspace reads go.work at root and the go.mod of every module it uses.
func LoadWorkspace(root string) (*Workspace, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	core, err := loadModule(root, ".", "")
	if err != nil {
		return nil, err
	}
	ws := &Workspace{Root: root}
	for _, u := range wf.Use {
		dir := filepath.ToSlash(filepath.Clean(u.Path))
		if filepath.IsAbs(u.Path) || strings.HasPrefix(dir, "../") {
			return nil, fmt.Errorf("release: go.work uses %s, outside the repository", u.Path)
		}
		m, err := loadModule(root, dir, core.Path)
		if err != nil {
			return nil, err
		}
		ws.Modules = append(ws.Modules, m)
	}
	sort.Slice(ws.Modules, func(i, j int) bool {
		a, b := ws.Modules[i].Dir, ws.Modules[j].Dir
		return a == "." || (b != "." && a < b)
	})
	if len(ws.Modules) == 0 || ws.Modules[0].Dir != "." {
		return nil, errors.New("release: go.work does not use the core module at the repository root (use .)")
	}
	return ws, nil
}

// loadModule reads the go.mod in dir; a nested module's path must be the
// core's path followed by dir.
func loadModule(root, dir, corePath string) (Module, error) {
	name := filepath.Join(root, filepath.FromSlash(dir), "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return Module{}, fmt.Errorf("release: %w", err)
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return Module{}, fmt.Errorf("release: %w", err)
	}
	if f.Module == nil {
		return Module{}, fmt.Errorf("release: %s has no module line", name)
	}
	if want := corePath + "/" + dir; dir != "." && f.Module.Mod.Path != want {
		return Module{}, fmt.Errorf("release: %s declares module %s; a module in %s must be %s so that the go command finds it at its tag", name, f.Module.Mod.Path, dir, want)
	}
	return Module{Dir: dir, Path: f.Module.Mod.Path, File: f}, nil
}

// Core returns the core module, at the repository root.
func (ws *Workspace) Core() Module { return ws.Modules[0] }

// Own reports whether path is one of the repository's modules.
func (ws *Workspace) Own(path string) bool {
	for _, m := range ws.Modules {
		if m.Path == path {
			return true
		}
	}
	return false
}

// Libraries returns the modules published for users, the core first.
func (ws *Workspace) Libraries() []Module {
	var out []Module
	for _, m := range ws.Modules {
		if m.Library() {
			out = append(out, m)
		}
	}
	return out
}

// Abs returns the absolute directory of m.
func (ws *Workspace) Abs(m Module) string {
	return filepath.Join(ws.Root, filepath.FromSlash(m.Dir))
}
