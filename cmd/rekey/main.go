// Command rekey shows rekey's recovery from invalid, expired and revoked API
// keys, and checks an API key against a real endpoint.
//
// Usage:
//
//	rekey demo  [--duration 4s] [--workers 16] [--key-ttl 400ms] [--revoke-every 250ms] [--fault-rate 0.05] [--seed N]
//	rekey check --api NAME (--key-env NAME | --key-file PATH | --key-cmd CMD) [--base-url URL] [--basic-user NAME]
//	rekey check --url URL (--key-env NAME | --key-file PATH | --key-cmd CMD) [--header NAME | --basic-user NAME | --basic-password P]
//	rekey check --list-apis
//
// # rekey demo
//
// Demo needs no setup: it starts an embedded fake API service (package
// rekeytest) whose keys live a few hundred milliseconds, are revoked at
// random and sometimes answered with 503s or dropped connections, and runs
// concurrent workers through a rekey.Client against it for a few seconds. A
// live progress line (plain periodic lines when stderr is not a terminal)
// shows requests, key rejections, refreshes and retries; the summary on
// stdout adds failures by class and p50/p99 latency. It checks that every
// acknowledged POST body reached the server exactly once, byte for byte, and
// exits 1 if any request was lost: acknowledged but not received, or failed
// with an error rekey did not classify.
//
// # rekey check
//
// Check reads a key from an environment variable, a file or a command's
// output, validates it locally (empty, whitespace, stray quotes, a pasted
// "Bearer " prefix, ...), then sends one request with it and prints "valid",
// or "invalid: " and the server's message. With --api NAME the request is
// the API's documented "who am I" or key-status request (--list-apis prints
// the APIs check knows); with --url it is GET URL. It never
// prints the key. Exit codes:
//
//	0  valid: the endpoint accepted the key
//	1  invalid: the endpoint rejected the key
//	2  usage error or bad input, including a key that fails local validation
//	3  the endpoint could not be reached, or answered something else
//
// Every command has --help.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes shared by the commands.
const (
	exitOK      = 0
	exitFailed  = 1 // check: the key is invalid; demo: a request was lost
	exitUsage   = 2 // bad flags or input
	exitTrouble = 3 // check: the endpoint could not be reached or answered oddly
)

const usage = `rekey shows and checks recovery from invalid, expired and revoked API keys.

Usage:

  rekey demo  [flags]   run workers against an embedded fake API whose keys
                        expire, get revoked and fail transiently; print a summary
  rekey check [flags]   check an API key against its API (--api openai, ...)
                        or an endpoint (--url): valid or invalid
  rekey help COMMAND    show a command's flags (same as rekey COMMAND --help)

Start with:

  go run ./cmd/rekey demo
`

// command is a subcommand: its name, a one-line summary and its body.
type command struct {
	name string
	run  func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"demo", runDemoCommand},
	{"check", runCheckCommand},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args (without the program name) and returns the
// exit code. It is main without os.Exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "help":
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "rekey: unknown command %q\n\n%s", name, usage)
	return exitUsage
}

// newFlagSet returns a FlagSet for a command whose --help prints help (the
// command's description) and the flags to stdout.
func newFlagSet(name, help string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("rekey "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), help)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		printFlags(fs)
	}
	return fs
}

// printFlags is flag.PrintDefaults with the double dashes the help texts use.
func printFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		line += "\n      " + help
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			line += " (default " + f.DefValue + ")"
		}
		fmt.Fprintln(fs.Output(), line)
	})
}

// parseFlags parses args into fs. It returns the exit code to stop with, if
// any: exitOK after --help (printed to stdout), exitUsage after an error
// (printed to stderr with a pointer to --help).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, stop bool) {
	out := fs.Output()
	fs.SetOutput(io.Discard) // report errors ourselves, without the full usage
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return exitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", fs.Name(), err, fs.Name())
		return exitUsage, true
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\nRun '%s --help' for usage.\n", fs.Name(), fs.Arg(0), fs.Name())
		return exitUsage, true
	}
	return 0, false
}

// usageError prints a usage problem found after parsing and returns exitUsage.
func usageError(stderr io.Writer, fs *flag.FlagSet, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", fs.Name(), strings.TrimSpace(msg), fs.Name())
	return exitUsage
}
