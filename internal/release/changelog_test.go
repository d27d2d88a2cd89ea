package main

import (
	"strings"
	"testing"
)

func TestPrepareRelease(t *testing.T) {
	tests := []struct {
		name, changelog, version string
		want                     []string // in order in the result
		wantErr                  string
	}{
		{
			name:      "a new release takes the unreleased entries",
			changelog: sampleChangelog, version: "v0.2.0",
			want: []string{
				"## [Unreleased]\n\n## [0.2.0] - 2026-12-24\n\n### Added\n\n- The plugin says goodbye too.\n\n## [0.1.0] - 2026-11-30",
				"[Unreleased]: https://github.com/rekeyhq/rekey/compare/v0.2.0...HEAD\n[0.2.0]: https://github.com/rekeyhq/rekey/releases/tag/v0.2.0\n[0.1.0]:",
			},
		},
		{
			name:      "a prepared, untagged release takes them too",
			changelog: sampleChangelog, version: "v0.1.0",
			want: []string{
				"## [Unreleased]\n\n## [0.1.0] - 2026-12-24\n\n### Added\n\n- The first release.\n- The plugin says goodbye too.\n\n[Unreleased]:",
			},
		},
		{
			name:      "the first release",
			changelog: "# Changelog\n\n## [Unreleased]\n\n### Fixed\n\n- A bug.\n",
			version:   "v0.1.0",
			want:      []string{"## [Unreleased]\n\n## [0.1.0] - 2026-12-24\n\n### Fixed\n\n- A bug.\n\n[Unreleased]: https://github.com/rekeyhq/rekey/compare/v0.1.0...HEAD\n[0.1.0]: https://github.com/rekeyhq/rekey/releases/tag/v0.1.0\n"},
		},
		{name: "an older version", changelog: sampleChangelog, version: "v0.0.9", wantErr: "not newer than v0.1.0"},
		{name: "nothing to release", changelog: "## [Unreleased]\n\n## [0.1.0] - 2026-11-30\n\n- x\n", version: "v0.2.0", wantErr: "Unreleased section of CHANGELOG.md is empty"},
		{name: "not a version", changelog: sampleChangelog, version: "0.2", wantErr: "use vMAJOR.MINOR.PATCH"},
		{name: "no unreleased section", changelog: "# Changelog\n", version: "v0.2.0", wantErr: `no "## [Unreleased]" section`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PrepareRelease(tt.changelog, tt.version, "2026-12-24", repoURL)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("result lacks (in order) %q:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			if v, _ := Newest(got); v != tt.version {
				t.Fatalf("Newest = %s, want %s", v, tt.version)
			}
		})
	}
}

func TestNewest(t *testing.T) {
	if v, err := Newest(sampleChangelog); err != nil || v != "v0.1.0" {
		t.Fatalf("Newest = %q, %v", v, err)
	}
	if _, err := Newest("# Changelog\n\n## [Unreleased]\n"); err == nil || !strings.Contains(err.Error(), "bump vX.Y.Z") {
		t.Fatalf("Newest of a changelog with no release = %v, want advice", err)
	}
}
