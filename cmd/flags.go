package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/source"
)

// Flags are derived from three tables: the tools (inject.Tools), the sources
// (source.Registry) and the few flags of the front doors below. Every flag also reads
// PATINJECT_<NAME>.

// envOf is the variable a flag also reads: PATINJECT_ and the name in upper case, '-' as '_'.
func envOf(name string) []string {
	return []string{"PATINJECT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// spec is a flag of the front doors, declared as data like the tools' and sources' flags.
type spec struct {
	name, usage, def, category string
	kind                       flagKind
}

type flagKind int

const (
	kindString flagKind = iota
	kindList
	kindBool
)

func (s spec) flag() cli.Flag {
	env := envOf(s.name)
	switch s.kind {
	case kindList:
		return &cli.StringSliceFlag{Name: s.name, Usage: s.usage, EnvVars: env, Category: s.category}
	case kindBool:
		return &cli.BoolFlag{Name: s.name, Usage: s.usage, EnvVars: env, Category: s.category}
	}
	return &cli.StringFlag{Name: s.name, Usage: s.usage, Value: s.def, EnvVars: env, Category: s.category}
}

const (
	catSecrets = "Secrets"
	catTools   = "Tools"
	catCI      = "CI"
)

// The front doors' own flags.
var (
	secretSpecs = []spec{
		{name: "token", category: catSecrets, usage: "the credential (`REF`) handed to the tools: git, nuget, npm, netrc, token-env, authorization-env"},
		{name: "secret", kind: kindList, category: catSecrets, usage: "another secret exported as env var NAME (`NAME=REF`)"},
		{name: "env-file", kind: kindList, category: catSecrets, usage: "dotenv `FILE`; each VALUE is a REF or, matching no scheme, a literal"},
		{name: "not-secret", kind: kindList, category: catSecrets, usage: "variable `NAME` that is not secret: passed on, never redacted or masked"},
		{name: "allow-name", kind: kindList, category: catSecrets, usage: "let a secret be exported as `NAME` although the name changes how programs start or how the CI runner behaves (LD_PRELOAD, PATH, GIT_*, GITHUB_*, ...: see the README)"},
		{name: "keep-credential-env", kind: kindBool, category: catSecrets, usage: "pass the variables that source credentials were read from (VAULT_TOKEN, an env: REF of --ado-access-token or --vault-*) on to CMD"},
		{name: "username", category: catTools, usage: "user `NAME` sent with the token in Basic auth (default \"patinject\")"},
	}
	strictSpec   = spec{name: "strict-cleanup", kind: kindBool, category: catSecrets, usage: "exit 123 when a revocation or removal fails (default: warn)"}
	debugSpec    = spec{name: "debug", kind: kindBool, usage: "log what is resolved and injected, by name and source (never values)"}
	noRedactSpec = spec{name: "no-redact", kind: kindBool, usage: "pass CMD's output through untouched (for a TTY)"}
	injectSpecs  = []spec{
		{name: "platform", def: "auto", category: catCI, usage: "CI platform to hand the secrets to: auto, github, azure, gitlab or local"},
		{name: "state", category: catCI, usage: "state `FILE` recording what cleanup must undo (default: patinject-state.json in the platform's temp directory)"},
		{name: "dotenv", category: catCI, usage: "--platform local: write the variables to this new dotenv `FILE` (0600); cleanup removes it"},
		{name: "as-file", kind: kindList, category: catCI, usage: "hand variable `NAME` over as the path of a 0600 file holding its value (for multi-line values)"},
	}
	sweepSpec    = spec{name: "no-orphan-sweep", kind: kindBool, usage: "do not take back, at the start, what a patinject that died left in its journal"}
	cleanupSpecs = []spec{
		{name: "orphans", kind: kindBool, category: catCI, usage: "take back what a patinject that died (killed, OOM, lost machine) left in its journal, instead of reading a state file"},
		{name: "platform", def: "auto", category: catCI, usage: "how to report warnings: auto, github, azure, gitlab or local"},
		{name: "state", category: catCI, usage: "the state `FILE` that inject wrote"},
		{name: "trust-unverified-state", kind: kindBool, category: catCI, usage: "act on a state whose seal is missing or does not verify (a cleanup run outside the post step that has the key); credentials still go only where cleanup's flags say, and only patinject's own files are removed"},
	}
)

func flagsOf(specs ...spec) []cli.Flag {
	var fs []cli.Flag
	for _, s := range specs {
		fs = append(fs, s.flag())
	}
	return fs
}

// toolFlags are the flags of the registered tools.
func toolFlags() []cli.Flag {
	var fs []cli.Flag
	for _, t := range inject.Tools() {
		kind := kindList
		if t.Switch {
			kind = kindBool
		}
		fs = append(fs, spec{name: t.Flag, usage: t.Usage, category: catTools, kind: kind}.flag())
	}
	return fs
}

// sourceFlags are the flags of the registered sources; hidden ones are accepted but not listed.
func sourceFlags(hidden func(resolve.Flag) bool) []cli.Flag {
	var fs []cli.Flag
	for _, f := range source.Registry().Flags() {
		kind := kindString
		if f.Bool {
			kind = kindBool
		}
		fl := spec{name: f.Name, usage: f.Usage, def: f.Default, category: f.Category, kind: kind}.flag()
		if hidden != nil && hidden(f) {
			switch fl := fl.(type) {
			case *cli.StringFlag:
				fl.Hidden = true
			case *cli.BoolFlag:
				fl.Hidden = true
			}
		}
		fs = append(fs, fl)
	}
	return fs
}

// resolveFlags are the flags of `run`, `inject` and `plan`: what to resolve and where it goes.
func resolveFlags() []cli.Flag {
	fs := flagsOf(secretSpecs...)
	fs = append(fs, toolFlags()...)
	fs = append(fs, sourceFlags(nil)...)
	return append(fs, flagsOf(strictSpec, sweepSpec, debugSpec)...)
}
