package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// WriteProxy publishes every library module at version into dir, laid out
// as a module proxy (GOPROXY=file://dir): for each module,
// <escaped path>/@v/list, <version>.info, <version>.mod and <version>.zip.
// The zip is built from the module's directory with golang.org/x/mod/zip,
// which applies the rules every proxy applies; a module that breaks them
// is an error here, as it would be for a user.
func WriteProxy(ws *Workspace, version, dir string, at time.Time) ([]Module, error) {
	var published []Module
	for _, m := range ws.Libraries() {
		if err := publish(ws.Abs(m), m.Path, version, dir, at); err != nil {
			return nil, err
		}
		published = append(published, m)
	}
	return published, nil
}

func publish(src, path, version, dir string, at time.Time) error {
	mv := module.Version{Path: path, Version: version}
	if err := module.Check(path, version); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	vdir := filepath.Join(dir, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	z, err := os.Create(filepath.Join(vdir, version+".zip"))
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := zip.CreateFromDir(z, mv, src); err != nil {
		z.Close()
		return fmt.Errorf("release: module %s cannot be served by a module proxy: %w", path, err)
	}
	if err := z.Close(); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, at.UTC()})
	for name, data := range map[string][]byte{
		version + ".mod":  gomod,
		version + ".info": info,
		"list":            []byte(version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return fmt.Errorf("release: %w", err)
		}
	}
	return nil
}
