// Package cmd wires patinject's front doors (run, inject, cleanup) to the engine: it reads flags
// and PATINJECT_* variables into options, builds the sources and injectors, and turns every
// error into one line and one exit code.
package cmd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// Set at build time with -ldflags "-X github.com/patinject/patinject/cmd.version=...".
var (
	version = "dev"
	commit  = ""
)

// app holds the process's surroundings, so that tests can drive commands in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	environ        func() []string
}

// Main runs patinject with args (args[0] is the program name) and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, lookup: os.LookupEnv, environ: os.Environ}
	err := a.cli().RunContext(context.Background(), args)
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "patinject: %s\n", oneLine(msg))
		}
	}
	return exitCode(err)
}

// oneLine keeps an error to one line and defuses CI logging commands that a server's text could
// smuggle into it (GitHub "::" at a line start, Azure Pipelines "##vso[" anywhere).
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	s = strings.ReplaceAll(s, "##vso[", "##vso␣[")
	s = strings.ReplaceAll(s, "##[", "##␣[")
	return s
}

func (a *app) cli() *cli.App {
	usageErr := func(_ *cli.Context, err error, _ bool) error {
		return fmt.Errorf("%v (see patinject --help)", err)
	}
	return &cli.App{
		Name:            "patinject",
		Usage:           "get a scoped, short-lived credential into a CI job and nowhere else",
		Version:         versionString(),
		Reader:          a.stdin,
		Writer:          a.stdout,
		ErrWriter:       a.stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {}, // never os.Exit inside app.Run: it would skip cleanup
		OnUsageError:    usageErr,
		Commands: []*cli.Command{
			{
				Name:         "run",
				Usage:        "resolve the secrets, run CMD with them, redact them from its output, then revoke and remove",
				ArgsUsage:    "-- CMD [ARGS...]",
				Flags:        append(injectFlags(), boolean("no-redact", "pass CMD's output through untouched (for a TTY)")),
				OnUsageError: usageErr,
				Action:       a.run,
			},
			a.injectCommand(),
			a.cleanupCommand(),
			a.patsCommand(),
			{
				Name:  "version",
				Usage: "print the version, commit and Go version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(a.stdout, "patinject", versionString())
					return nil
				},
			},
			a.gitCredentialCommand(),
		},
	}
}

func versionString() string {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("%s (commit %s, %s)", v, c, strings.TrimPrefix(goVersion(), ""))
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "go"
}

// logger logs to stderr: debug lines with --debug, warnings always. Log lines name keys and
// sources, never values.
func (a *app) logger(debug bool) *slog.Logger {
	level := slog.LevelWarn
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
			if at.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			// A label or message from a server could hold a CI logging command: defuse it.
			if k := at.Value.Kind(); k == slog.KindString || k == slog.KindAny {
				at.Value = slog.StringValue(oneLine(at.Value.String()))
			}
			return at
		},
	}))
}

// warnf prints a warning line for people.
func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "patinject: warning: %s\n", oneLine(fmt.Sprintf(format, args...)))
}
