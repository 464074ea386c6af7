package inject

import (
	"fmt"
	"regexp"
)

// Tool is one place the --token credential can go. Everything else that knows about tools is
// derived from this table: the flags of `run` and `inject` and their PATINJECT_* variables, the
// static checks made before anything is resolved, the step summary, the PAT scopes a minted
// token needs, and the CI wrappers' inputs. A new tool is one file that declares its Tool and
// one line in Tools.
type Tool struct {
	Flag   string // the flag's name without dashes: "git"
	Usage  string // its help; the placeholder in backquotes, as urfave/cli takes it: "`PREFIX`"
	Switch bool   // an on/off flag that changes another tool's plan, instead of a list of values
	// Summary is how the step summary describes one value ("git credentials for").
	Summary string
	// Scopes are the Azure DevOps PAT scopes this tool needs when it only reads, for an
	// ado-pat:// reference that names none.
	Scopes []string
	// Check vets one value before anything is resolved or minted; nil takes any value.
	Check func(value string) error
	// SetsVars: each value is the name of a variable the tool sets, which the front doors
	// check against the names that take over later steps (envpolicy).
	SetsVars bool
	// Plan is the tool's part of the plan, reading its values with Config.Values; nil for a
	// switch, which another tool's Plan reads with Config.On.
	Plan func(Config) (Plan, error)
}

// Tools are the registered tools, in the order their plans are built and their flags listed.
func Tools() []*Tool {
	return []*Tool{&Git, &GitCredentialHelper, &NuGet, &Npm, &Netrc, &Maven, &TokenEnv, &AuthorizationEnv}
}

// ToolByFlag returns the tool whose flag is name, or nil.
func ToolByFlag(name string) *Tool {
	for _, t := range Tools() {
		if t.Flag == name {
			return t
		}
	}
	return nil
}

// CheckTools vets every value given to every tool, before anything is resolved.
func CheckTools(values map[string][]string) error {
	for _, t := range Tools() {
		if t.Check == nil {
			continue
		}
		for _, v := range values[t.Flag] {
			if err := t.Check(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// envNameRe is a portable environment variable name.
var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckEnvName refuses a variable name that a shell or the CI platform cannot carry.
func CheckEnvName(flag, name string) error {
	if !envNameRe.MatchString(name) {
		return fmt.Errorf("%s %q: not a valid environment variable name (letters, digits, '_', not starting with a digit)", flag, name)
	}
	return nil
}

// checkURL is the Check of a tool that takes http(s) URLs.
func checkURL(flag string) func(string) error {
	return func(v string) error {
		_, err := httpURL(flag, v)
		return err
	}
}

// checkVar is the Check of a tool that takes variable names.
func checkVar(flag string) func(string) error {
	return func(v string) error { return CheckEnvName(flag, v) }
}
