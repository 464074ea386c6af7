// Package inject is where a credential goes: the injectors that turn a token into environment
// variables and tool configuration (git, NuGet, npm, netrc, REST), the plan they produce, the CI
// platform emitters, and the redactor that keeps every secret form out of a command's output.
package inject

import "github.com/patinject/patinject/secret"

// Plan is what the injectors decided, with no I/O done yet: one plan serves both front doors.
// `run` applies it to a child process; `inject` hands it to the CI platform.
type Plan struct {
	Env   []EnvVar
	Files []File
	// Path are directories the later CI steps are to find first on PATH (NuGet's plugin
	// launcher, for dotnet); `run` sets PATH itself through Env.
	Path []string
	// Masks are the derived forms of secrets (a Basic header's base64, npm's _password, ...) that
	// must be redacted or masked besides the secret values themselves.
	Masks []secret.Value
}

// EnvVar is one environment variable to set for the command or the later CI steps.
type EnvVar struct {
	Name   string
	Value  secret.Value
	Secret bool // false for pointers such as NPM_CONFIG_USERCONFIG, which CI may pass as plain variables
	// Append, when set, is the separator used to append Value to an existing value (PATH-like).
	Append string
}

// File is a file to write in patinject's private directory (0700), with mode 0600, or 0700 for
// a launcher.
type File struct {
	Path    string // absolute, inside the private directory (or a directory of its own in it)
	Content secret.Value
	Secret  bool // holds a secret (false: a config that only points at environment variables)
	Exec    bool // a launcher a tool runs (NuGet's plugin): 0700, in a subdirectory made 0700
}

// Add appends another plan's pieces to p.
func (p *Plan) Add(q Plan) {
	p.Env = append(p.Env, q.Env...)
	p.Files = append(p.Files, q.Files...)
	p.Masks = append(p.Masks, q.Masks...)
	p.Path = append(p.Path, q.Path...)
}
