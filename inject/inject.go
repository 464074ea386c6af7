package inject

import (
	"fmt"

	"github.com/patinject/patinject/secret"
)

// Mode says which front door a plan is for.
type Mode int

const (
	// ModeRun builds for `run`: prefer environment-only channels, so nothing touches disk.
	ModeRun Mode = iota
	// ModeCI builds for `inject`: files in the CI temp directory that later steps pick up, and
	// environment entries that the platform emitter hands on.
	ModeCI
)

// Config is what the injectors need: the token, where it goes, and the surroundings.
type Config struct {
	Token    secret.Value // the --token credential; zero when only --secret/--env-file were given
	Username string       // sent with the token in Basic auth
	Git      []string     // URL prefixes
	NuGet    []string     // "URL" or "NAME=URL"
	Npm      []string     // registry URLs
	Netrc    []string     // host names
	TokenEnv []string     // variable names

	Dir    string                      // patinject's private 0700 directory for files
	Lookup func(string) (string, bool) // the environment the plan extends (GIT_CONFIG_COUNT, HOME, ...)
	Mode   Mode
}

// DefaultUsername is sent in Basic auth when --username is not given. Azure DevOps accepts any
// non-empty name.
const DefaultUsername = "patinject"

func (c Config) username() string {
	if c.Username != "" {
		return c.Username
	}
	return DefaultUsername
}

// Build runs every injector the configuration asks for and returns their combined plan.
func Build(c Config) (Plan, error) {
	var p Plan
	if c.Token.IsZero() {
		if len(c.Git)+len(c.NuGet)+len(c.Npm)+len(c.Netrc)+len(c.TokenEnv) > 0 {
			return Plan{}, fmt.Errorf("--git, --nuget, --npm, --netrc and --token-env need --token")
		}
		return p, nil
	}
	for _, name := range c.TokenEnv {
		p.Env = append(p.Env, EnvVar{Name: name, Value: c.Token, Secret: true})
	}
	return p, nil
}
