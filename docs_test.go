package rekey_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// TestMarkdownLinks checks every relative link of every Markdown file in
// the repository (the core module's directory and everything below it,
// nested modules included): the file or directory it names exists, and a
// #fragment into a Markdown file names a heading there, by GitHub's rules.
func TestMarkdownLinks(t *testing.T) {
	problems, files, links, err := checkMarkdownLinks(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	// The walk must have seen the repository, or the test proves nothing.
	if files < 10 || links < 50 {
		t.Errorf("checked %d Markdown files and %d relative links: expected the repository's (README.md, docs/, the nested modules')", files, links)
	}
	t.Logf("checked %d relative links in %d Markdown files", links, files)
}

func TestGitHubSlug(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"Quick start", "quick-start"},
		{"Setup: two commands", "setup-two-commands"},
		{"The `rekey` command", "the-rekey-command"},
		{"Many replicas, one key: redisstore", "many-replicas-one-key-redisstore"},
		{"HashiCorp Vault (KV version 2)", "hashicorp-vault-kv-version-2"},
		{"etcd (token auth)", "etcd-token-auth"},
		{"What's new in v0.1.0?", "whats-new-in-v010"},
		{"`max_tokens` and snake_case stay", "max_tokens-and-snake_case-stay"},
		{"*Emphasis* and _this_ and **strong**", "emphasis-and-this-and-strong"},
		{"A [link](https://example.com) inside", "a-link-inside"},
		{"Files -- and -- dashes", "files----and----dashes"},
		{"Ünïcode Wörds 🎉", "ünïcode-wörds-"},
		{"`transport.Transport`: fields", "transporttransport-fields"},
		{"HTTP <code>Basic</code> auth", "http-basic-auth"},
		{"Trailing spaces   ", "trailing-spaces"},
	} {
		if got := githubSlug(c.heading); got != c.want {
			t.Errorf("githubSlug(%q) = %q, want %q", c.heading, got, c.want)
		}
	}
}

func TestMarkdownAnchors(t *testing.T) {
	doc := strings.Join([]string{
		"# Title",
		"## Usage",
		"text",
		"## Usage",
		"### Usage ###",
		"```sh",
		"# not a heading",
		"```",
		"Setext heading",
		"==============",
		"Another one",
		"---",
		"",
		"---",
		`<a name="custom-anchor"></a>`,
		`<h2 id="html-heading">HTML</h2>`,
		"    # indented four: code, not a heading",
	}, "\n")
	got := markdownAnchors(doc)
	for _, want := range []string{"title", "usage", "usage-1", "usage-2", "setext-heading", "another-one", "custom-anchor", "html-heading"} {
		if !got[want] {
			t.Errorf("anchor %q missing; got %v", want, got)
		}
	}
	for _, unwanted := range []string{"not-a-heading", "", "indented-four-code-not-a-heading"} {
		if got[unwanted] {
			t.Errorf("anchor %q should not exist; got %v", unwanted, got)
		}
	}
}

func TestMarkdownLinksFound(t *testing.T) {
	doc := strings.Join([]string{
		"See [the guide](docs/guide.md#setup) and [Go](https://go.dev).",     // 1
		"![diagram](img/flow.png \"the flow\") [ref]: not a definition here", // 2
		"[ref]: ../LICENSE", // 3
		"`[not](a-link.md)` but [`code` in text](x.md) and [a [nested] one](y.md)", // 4
		"```",                             // 5
		"[in a fence](fenced.md)",         // 6
		"```",                             // 7
		`<a href="html.md">html</a>`,      // 8
		"[angle](<with space.md>)",        // 9
		"[wiki](https://x/a_(b)) [c](#c)", // 10
	}, "\n")
	var got []mdLink
	got = append(got, markdownLinks(doc)...)
	want := []mdLink{
		{1, "docs/guide.md#setup"}, {1, "https://go.dev"},
		{2, "img/flow.png"},
		{3, "../LICENSE"},
		{4, "x.md"}, {4, "y.md"},
		{8, "html.md"},
		{9, "with space.md"},
		{10, "https://x/a_(b)"}, {10, "#c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("markdownLinks:\ngot  %v\nwant %v", got, want)
	}
}

func TestCheckMarkdownLinks(t *testing.T) {
	fsys := fstest.MapFS{
		"README.md": {Data: []byte(strings.Join([]string{
			"# Project",
			"## Install",
			"[ok file](docs/guide.md) [ok anchor](docs/guide.md#set-up-the-key)",
			"[ok dir](docs/) [ok root-relative](/docs/guide.md) [ok self](#install)",
			"[ok go file anchor](main.go#L10) [ok absolute](https://example.com/nowhere.md)",
			"[missing file](docs/missing.md)",
			"[missing anchor](docs/guide.md#no-such-heading)",
			"[missing self anchor](#usage)",
			"[outside](../elsewhere.md)",
			"[encoded](docs/a%20b.md)",
		}, "\n"))},
		"docs/guide.md":   {Data: []byte("# Guide\n## Set up the key\n[back](../README.md#project)\n[broken back](../README.md#nope)\n")},
		"docs/a b.md":     {Data: []byte("# Spaces\n")},
		"main.go":         {Data: []byte("package main\n")},
		".git/x/HEAD.md":  {Data: []byte("[skipped](nowhere.md)\n")},
		"notes/NOTES.txt": {Data: []byte("[not markdown](nowhere.md)\n")},
	}
	problems, files, links, err := checkMarkdownLinks(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:6: docs/missing.md: no such file or directory docs/missing.md",
		"README.md:7: docs/guide.md#no-such-heading: no heading in docs/guide.md makes the anchor #no-such-heading",
		"README.md:8: #usage: no heading in README.md makes the anchor #usage",
		"README.md:9: ../elsewhere.md: leaves the repository",
		"docs/guide.md:4: ../README.md#nope: no heading in README.md makes the anchor #nope",
	}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems:\ngot  %q\nwant %q", problems, want)
	}
	if files != 3 || links != 13 {
		t.Errorf("checked %d files and %d links, want 3 and 13", files, links)
	}
}
