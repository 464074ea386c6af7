// Package cmd is patinject's command line: it reads flags and PATINJECT_* variables into the
// front doors' options, calls the engine (package frontdoor), and turns every error into one
// line and one exit code. It is wiring only.
package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/msgsafe/msgfilter"
	"github.com/patinject/patinject/runner"
)

// Set at build time with -ldflags "-X github.com/patinject/patinject/cmd.version=...".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// app holds the process's surroundings, so that tests can drive commands in-process.
type app struct {
	p        *frontdoor.Process
	notFound bool // a command that does not exist was asked for
}

// Main runs patinject with args (args[0] is the program name) and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	runner.SurviveBrokenPipes() // a closed stdout or stderr is a write error, not death before cleanup
	stdout, stderr = serialized(stdout, stderr)
	a := &app{p: &frontdoor.Process{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Lookup: os.LookupEnv, Environ: os.Environ, Version: version,
		Msgs: &msgfilter.Filter{},
	}}
	err := a.cli().RunContext(context.Background(), args)
	a.printError(err)
	if a.notFound && err == nil {
		return ExitFailure
	}
	return exitCode(err)
}

// serialized makes writes to stdout and stderr one at a time: sources resolve concurrently and
// each says its progress, warnings and CI commands with one Write. An *os.File is safe for that
// already, and stays itself (the runner hands it to CMD as it is); anything else (a buffer, an
// embedder's writer) gets one lock for both, which may be the same writer.
func serialized(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	mu := &sync.Mutex{}
	wrap := func(w io.Writer) io.Writer {
		if _, ok := w.(*os.File); ok || w == nil {
			return w
		}
		return &lockedWriter{mu: mu, w: w}
	}
	return wrap(stdout), wrap(stderr)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (a *app) cli() *cli.App {
	return &cli.App{
		Name:                 "patinject",
		Usage:                "get a scoped, short-lived credential into a CI job and nowhere else",
		Version:              versionString(),
		Reader:               a.p.Stdin,
		Writer:               a.p.Stdout,
		ErrWriter:            a.p.Stderr,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {}, // never os.Exit inside app.Run: it would skip cleanup
		OnUsageError:         usageError,
		CommandNotFound:      a.commandNotFound,
		Commands: []*cli.Command{
			a.runCommand(),
			a.injectCommand(),
			a.cleanupCommand(),
			a.planCommand(),
			a.patsCommand(),
			a.versionCommand(),
			a.completionCommand(),
			a.gitCredentialCommand(),
			a.nugetPluginCommand(),
			a.inputsCommand(),
		},
	}
}

func (a *app) versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, commit, build date and Go version",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(a.p.Stdout, "patinject", versionString())
			return nil
		},
	}
}

func versionString() string {
	v, c, d := version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("%s (commit %s, built %s, %s)", v, c, d, goVersion())
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "go"
}

// printError prints err, if it has text, as patinject's one error line, through the filter of
// patinject's own messages.
func (a *app) printError(err error) {
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(a.p.Stderr, "patinject: %s\n", a.p.Line(msg))
		}
	}
}
