package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What issue 24 found, shown on a small repository shaped like rekey's: a
// nested module that requires a core version nobody published cannot be
// installed, and after a bump it can, from a file-system module proxy built
// by WriteProxy, with the go command alone, outside the repository.
func TestBumpThenInstallFromProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	root := sampleRepo(t, "v0.0.0")
	ws := loadSample(t, root)
	if err := CheckVersions(ws, "v0.1.0"); err == nil {
		t.Fatal("CheckVersions accepts a nested module that requires v0.0.0")
	}

	// Before: published as v0.1.0, the plugin still asks for core v0.0.0.
	before := t.TempDir()
	if _, err := WriteProxy(ws, "v0.1.0", filepath.Join(before, "proxy"), time.Now()); err != nil {
		t.Fatal(err)
	}
	user := newUserModule(t)
	if out, err := goCmd(t, user, filepath.Join(before, "proxy"), "get", "example.com/core/plugin@v0.1.0"); err == nil {
		t.Fatalf("go get of a plugin that requires core v0.0.0 succeeded:\n%s", out)
	} else if !strings.Contains(out, "example.com/core@v0.0.0") {
		t.Fatalf("go get failed for another reason than the unpublished core:\n%s", out)
	}

	// The bump: requirements and CHANGELOG in one step, tags in order.
	tags, err := Bump(ws, "v0.2.0", "2026-12-24")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tags, " "), "v0.2.0 plugin/v0.2.0"; got != want {
		t.Fatalf("tags = %q, want %q (the core's first)", got, want)
	}
	ws = loadSample(t, root)
	if err := Check(ws); err != nil {
		t.Fatalf("after the bump: %v", err)
	}
	gomod, _ := os.ReadFile(filepath.Join(root, "plugin", "go.mod"))
	if !strings.Contains(string(gomod), "require example.com/core v0.2.0") || !strings.Contains(string(gomod), "replace example.com/core => ../") {
		t.Fatalf("plugin/go.mod after the bump:\n%s", gomod)
	}

	after := t.TempDir()
	proxy := filepath.Join(after, "proxy")
	published, err := WriteProxy(ws, "v0.2.0", proxy, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(published) != 2 {
		t.Fatalf("published %d modules, want the core and the plugin (not internal/tool)", len(published))
	}
	user = newUserModule(t)
	if out, err := goCmd(t, user, proxy, "get", "example.com/core/plugin@v0.2.0"); err != nil {
		t.Fatalf("go get: %v\n%s", err, out)
	}
	writeTree(t, user, map[string]string{"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/core/plugin\"\n)\n\nfunc main() { fmt.Println(plugin.Greet()) }\n"})
	out, err := goCmd(t, user, proxy, "run", ".")
	if err != nil || out != "hello hello" {
		t.Fatalf("go run = %q, %v", out, err)
	}
	list, _ := goCmd(t, user, proxy, "list", "-m", "all")
	if !strings.Contains(list, "example.com/core v0.2.0") {
		t.Fatalf("the user's build does not use core v0.2.0 from the proxy:\n%s", list)
	}
}

func newUserModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"go.mod": "module example.com/user\n\ngo 1.24.0\n"})
	return dir
}
