// Package frontdoor is the engine behind patinject's commands: `run` applies a plan to a child
// process, `inject` hands it to the CI platform and records what `cleanup` must undo, and
// `cleanup` undoes it. Each is a short sequence of named steps over the same pieces: the
// options, the source registry, the resolver, the tools' plan, the private directory and the
// cleanup registry. It knows nothing of the command line: cmd/ parses flags into Options and
// calls it, and tests drive it the same way.
package frontdoor

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/patinject/patinject/msgsafe/msgfilter"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source"
)

// Process is what a command runs in: its streams and environment, so that tests can drive the
// front doors in-process.
type Process struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Lookup         func(string) (string, bool)
	Environ        func() []string
	Version        string
	// Sources is the source registry; nil means source.Registry().
	Sources resolve.Registry
	// Msgs filters every message patinject prints about itself (issue 9, item 5): each secret
	// and source credential is added the moment it is known. nil filters control characters
	// and CI logging commands only.
	Msgs *msgfilter.Filter
}

// ExitError ends a command with Code. An empty Msg prints nothing.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// Exit codes that the front doors choose themselves; `run` passes the command's own through.
const (
	// ExitCleanup: everything else succeeded, but a revocation or removal failed and the user
	// asked for strict cleanup (--strict-cleanup). Without it a failed cleanup only warns.
	ExitCleanup = 123
	// ExitOutputLost: `run` could not write the command's output (the reader of patinject's
	// stdout or stderr went away, or the disk is full). The command met the same broken pipe it
	// would have met without patinject, and cleanup ran. 141 is 128+SIGPIPE, what a shell reports
	// for a writer whose reader went away, so `set -o pipefail` scripts see what they would see
	// without patinject.
	ExitOutputLost = 141
)

func (p *Process) sources() resolve.Registry {
	if p.Sources != nil {
		return p.Sources
	}
	return source.Registry()
}

// Logger logs to stderr: debug lines with debug, warnings always. Log lines name keys and
// sources, never values, and every string in them is made one harmless line.
// The CI platforms' own debug switches (GitHub's "Enable debug logging", RUNNER_DEBUG=1; Azure
// Pipelines' System.Debug, SYSTEM_DEBUG=true) turn it on too.
func (p *Process) Logger(debug bool) *slog.Logger {
	level := slog.LevelWarn
	if debug || p.ciDebug() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(p.Stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
			if at.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			// A label or message from a server could hold a CI logging command: defuse it.
			if k := at.Value.Kind(); k == slog.KindString || k == slog.KindAny {
				at.Value = slog.StringValue(p.Line(at.Value.String()))
			}
			return at
		},
	}))
}

func (p *Process) ciDebug() bool {
	if p.Lookup == nil {
		return false
	}
	gh, _ := p.Lookup("RUNNER_DEBUG")
	az, _ := p.Lookup("SYSTEM_DEBUG")
	return gh == "1" || strings.EqualFold(az, "true")
}

// Warnf prints a warning line for people.
func (p *Process) Warnf(format string, args ...any) {
	fmt.Fprintf(p.Stderr, "patinject: warning: %s\n", p.Line(fmt.Sprintf(format, args...)))
}

// Line is a message made fit to print: one line, every known secret and source credential
// redacted, control characters escaped, CI logging commands defused (msgfilter).
func (p *Process) Line(s string) string { return p.Msgs.Line(s) }

// knowSecrets adds values to the filter of patinject's own messages.
func (p *Process) knowSecrets(values ...secret.Value) {
	if p.Msgs == nil {
		return
	}
	for _, v := range values {
		p.Msgs.Add(v.Reveal())
	}
}

// OneLine keeps a message to one line, escapes control characters and defuses CI logging
// commands that a server's text could smuggle into it (GitHub "::" at a line start, Azure
// Pipelines "##vso[" anywhere). It knows no secret: Process.Line does.
func OneLine(s string) string { return (*msgfilter.Filter)(nil).Line(s) }

func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
