package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The guard the README's test command runs: every module of this
// repository holds only files a module proxy serves, and every nested
// module requires the release CHANGELOG.md names.
func TestRepositoryIsReleasable(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := LoadWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(ws); err != nil {
		t.Fatal(err)
	}
	if len(ws.Libraries()) < 5 {
		t.Fatalf("found %d library modules; the core and at least four nested modules exist", len(ws.Libraries()))
	}
}

func TestCheckFilesRefusesWhatProxiesRefuse(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  string // in the error
	}{
		{"a name reserved on Windows", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"testdata/fuzz/FuzzX/nul": "go test fuzz v1\n"})
		}, "testdata/fuzz/FuzzX/nul"},
		{"a reserved name with an extension", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"docs/aux.md": "x"})
		}, "docs/aux.md"},
		{"two names equal but for case", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"Readme.md": "a", "README.md": "b"})
		}, "case-insensitive"},
		{"a symbolic link", func(t *testing.T, root string) {
			if err := os.Symlink("core.go", filepath.Join(root, "link.go")); err != nil {
				t.Skip("no symbolic links here:", err)
			}
		}, "link.go"},
		{"in a nested module", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"plugin/testdata/con": "x"})
		}, "plugin/testdata/con"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := sampleRepo(t, "v0.1.0")
			if err := CheckFiles(loadSample(t, root)); err != nil {
				t.Fatalf("the sample itself is refused: %v", err)
			}
			tt.setup(t, root)
			err := CheckFiles(loadSample(t, root))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckFiles = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestCheckVersions(t *testing.T) {
	tests := []struct {
		name   string
		plugin string // plugin/go.mod
		core   string // go.mod, "" for the sample's
		want   string // in the error; "" for none
	}{
		{"agrees", "", "", ""},
		{"an older core", "module example.com/core/plugin\n\ngo 1.24.0\n\nrequire example.com/core v0.0.0\n\nreplace example.com/core => ../\n", "", "requires example.com/core v0.0.0, but the release being prepared is v0.1.0"},
		{"replace pointing elsewhere", "module example.com/core/plugin\n\ngo 1.24.0\n\nrequire example.com/core v0.1.0\n\nreplace example.com/core => ../../core\n", "", "it must be the directory .."},
		{"replace of a third-party module", "module example.com/core/plugin\n\ngo 1.24.0\n\nrequire example.com/core v0.1.0\n\nreplace (\n\texample.com/core => ../\n\texample.org/dep => ../dep\n)\n", "", "replaces example.org/dep, which users of example.com/core/plugin ignore"},
		{"replace in the core", "", "module example.com/core\n\ngo 1.24.0\n\nreplace example.org/dep => ./dep\n", "replace directives, which users of the core ignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := sampleRepo(t, "v0.1.0")
			if tt.plugin != "" {
				writeTree(t, root, map[string]string{"plugin/go.mod": tt.plugin})
			}
			if tt.core != "" {
				writeTree(t, root, map[string]string{"go.mod": tt.core})
			}
			err := CheckVersions(loadSample(t, root), "v0.1.0")
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckVersions = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadWorkspaceRefusesAMisplacedModule(t *testing.T) {
	root := sampleRepo(t, "v0.1.0")
	writeTree(t, root, map[string]string{"plugin/go.mod": "module example.com/plugin\n\ngo 1.24.0\n"})
	_, err := LoadWorkspace(root)
	if err == nil || !strings.Contains(err.Error(), "must be example.com/core/plugin") {
		t.Fatalf("LoadWorkspace = %v, want the path the go command would look for", err)
	}
}

func TestLibraries(t *testing.T) {
	ws := loadSample(t, sampleRepo(t, "v0.1.0"))
	var got []string
	for _, m := range ws.Libraries() {
		got = append(got, m.Dir+"="+m.TagPrefix()+"v1.2.3")
	}
	if want := ".=v1.2.3 plugin=plugin/v1.2.3"; strings.Join(got, " ") != want {
		t.Fatalf("libraries and tags = %q, want %q (internal/ is not published)", strings.Join(got, " "), want)
	}
}

// scripts/install-test builds one program per library module: a module
// added without one would not be install-tested.
func TestEveryLibraryHasAnInstallProgram(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := LoadWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ws.Libraries() {
		dir := m.Dir
		if dir == "." {
			dir = "root"
		}
		program := filepath.Join("testdata", "install", filepath.FromSlash(dir), "main.go")
		if _, err := os.Stat(program); err != nil {
			t.Errorf("module %s has no install program: write internal/release/%s, a main package that uses it as its README shows", m.Path, filepath.ToSlash(program))
		}
	}
}
