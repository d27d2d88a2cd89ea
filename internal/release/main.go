package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

const usage = `usage:
	release check                       module files, versions and CHANGELOG.md agree
	release modules                     the library modules: "dir path" per line
	release proxy -dir D [-version V]   publish every library module at V (default: the
	                                    newest release in CHANGELOG.md) as a file proxy in D
	release bump vX.Y.Z [-date D]       prepare a release: requirements, CHANGELOG.md; print the tags`

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	root, err := FindRoot(".")
	if err != nil {
		return err
	}
	ws, err := LoadWorkspace(root)
	if err != nil {
		return err
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "check":
		if err := Check(ws); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "release: %d modules: files and versions agree\n", len(ws.Modules))
		return nil
	case "modules":
		for _, m := range ws.Libraries() {
			fmt.Fprintf(stdout, "%s %s\n", m.Dir, m.Path)
		}
		return nil
	case "proxy":
		fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
		dir := fs.String("dir", "", "directory to write the proxy into (required)")
		version := fs.String("version", "", "version to publish (default: the newest release in CHANGELOG.md)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *dir == "" {
			return fmt.Errorf("release proxy: -dir is required\n%s", usage)
		}
		if *version == "" {
			changelog, err := ws.ReadChangelog()
			if err != nil {
				return err
			}
			if *version, err = Newest(changelog); err != nil {
				return err
			}
		}
		abs, err := filepath.Abs(*dir)
		if err != nil {
			return err
		}
		mods, err := WriteProxy(ws, *version, abs, time.Now())
		if err != nil {
			return err
		}
		for _, m := range mods {
			fmt.Fprintf(stdout, "%s@%s\n", m.Path, *version)
		}
		return nil
	case "bump":
		fs := flag.NewFlagSet("bump", flag.ContinueOnError)
		date := fs.String("date", time.Now().UTC().Format(time.DateOnly), "the release date for CHANGELOG.md")
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("release bump: name the version first, for example: release bump v0.2.0")
		}
		version := args[0]
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		tags, err := Bump(ws, version, *date)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "prepared %s. After the release commit, push the tags, the core's first:\n", version)
		for _, t := range tags {
			fmt.Fprintf(stdout, "\tgit tag %s\n", t)
		}
		fmt.Fprintf(stdout, "\tgit push origin %s\n", strings.Join(tags, " "))
		return nil
	default:
		return fmt.Errorf("release: unknown command %q\n%s", cmd, usage)
	}
}
