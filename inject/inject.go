package inject

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/patinject/patinject/internal/platform"
	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/secret"
)

// Mode says which front door a plan is for.
type Mode int

const (
	// ModeRun builds for `run`: prefer environment-only channels, so nothing touches disk. Where
	// a tool needs a file (npm), the file only points at variables and holds no secret.
	ModeRun Mode = iota
	// ModeCI builds for `inject`: later steps see only what the platform emitter hands on, and on
	// Azure Pipelines a secret variable is not exported to later scripts. So the secret goes into
	// files in Config.Dir (0600, inside the CI temp directory), and the variables that reach the
	// later steps only point at them wherever the tool allows.
	ModeCI
)

// Config is what the injectors need: the token, where it goes, and the surroundings.
type Config struct {
	Token       secret.Value // the --token credential; zero when only --secret/--env-file were given
	TokenExpiry time.Time    // when the token expires; zero when unknown
	TokenKind   Kind         // how the token authenticates: a PAT (Basic) or a bearer token (Entra)
	Username    string       // sent with the token in Basic auth
	// Values are what each tool's flag was given, by Tool.Flag ("git": URL prefixes, a switch:
	// "true").
	Values map[string][]string

	// Self is the absolute path of the patinject executable, which git runs as its credential
	// helper with --git-credential-helper.
	Self string
	// GitHelperRefresh, when set, are the helper's arguments for a token that is refreshed
	// rather than fixed: ["--socket", PATH] (run: the helper asks the running patinject) or
	// ["--refresh", REF] (inject: the helper exchanges again when the token in its file nears
	// expiry). The helper then gets no fixed --expiry and, under run, no token variable.
	GitHelperRefresh []string
	// NuGetRefresh, when set, are the same arguments for NuGet's authentication plugin: with
	// --nuget, patinject installs itself as a NuGet cross-platform plugin that hands NuGet the
	// refreshed token when a source answers 401 (see nugetPluginPlan).
	NuGetRefresh []string
	// GitVersion is what `git version` printed ("2.39.5"); "" when unknown, taken as recent.
	// Before 2.31 git does not read GIT_CONFIG_COUNT, and an include file takes its place.
	GitVersion string

	Dir     string                      // patinject's private 0700 directory for files
	WorkDir string                      // where the tools will run: NuGet reads its config from here upward
	Lookup  func(string) (string, bool) // the environment the plan extends (GIT_CONFIG_COUNT, HOME, ...)
	Mode    Mode
	// GOOS is the operating system the tools run on, which decides where they read the user's
	// configuration; "" is the one patinject runs on (tests set others).
	GOOS string
}

// Kind is how a credential authenticates over HTTP.
type Kind int

const (
	// PAT is a personal access token: sent as the password of Basic auth with any user name.
	PAT Kind = iota
	// Bearer is an OAuth access token (a Microsoft Entra token): sent as "Authorization: Bearer"
	// to git and REST clients, and as the Basic password (NuGet, netrc) or the npm _authToken
	// where Azure Artifacts takes it so.
	Bearer
)

// DefaultUsername is sent in Basic auth when --username is not given. Azure DevOps accepts any
// non-empty name.
const DefaultUsername = "patinject"

func (c Config) username() string {
	if c.Username != "" {
		return c.Username
	}
	return DefaultUsername
}

func (c Config) lookup(name string) (string, bool) {
	if c.Lookup == nil {
		return "", false
	}
	return c.Lookup(name)
}

// basicCredentials is base64(user:token), what a Basic Authorization header carries.
func (c Config) basicCredentials() secret.Value {
	return secret.NewValue(base64.StdEncoding.EncodeToString([]byte(c.username() + ":" + c.Token.Reveal())))
}

// values returns what the tool with this flag was given.
func (c Config) values(flag string) []string { return c.Values[flag] }

// on reports whether a switch was given.
func (c Config) on(flag string) bool { return len(c.Values[flag]) > 0 && c.Values[flag][0] == "true" }

// authorization is the Authorization header value for the token, "Basic base64(user:token)" or
// "Bearer token", with scheme spelt as given (git's agent-style header is lower-case), and the
// derived forms to mask.
func (c Config) authorization(basic, bearer string) (secret.Value, []secret.Value) {
	if c.TokenKind == Bearer {
		h := secret.NewValue(bearer + " " + c.Token.Reveal())
		return h, []secret.Value{h}
	}
	b64 := c.basicCredentials()
	h := secret.NewValue(basic + " " + b64.Reveal())
	return h, []secret.Value{b64, h}
}

// Build runs the plan of every tool the configuration names and returns their combined plan.
func Build(c Config) (Plan, error) {
	var p Plan
	for _, t := range Tools() {
		if t.Plan == nil || len(c.values(t.Flag)) == 0 {
			continue
		}
		if c.Token.IsZero() {
			return Plan{}, fmt.Errorf("--%s: the tools hand on the --token credential; give --token REF", t.Flag)
		}
		q, err := t.Plan(c)
		if err != nil {
			return Plan{}, err
		}
		p.Add(q)
	}
	return p, nil
}

// httpURL parses a URL given to a tool flag: http or https, no user or password in it (the
// credential is the token), no query or fragment. Scheme and host are lower-cased and a default
// port dropped, as git and npm compare them; the path is kept as given, "/" when empty.
func httpURL(flag, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: the value is not a URL (not repeated here: it may hold a secret)", flag)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s %s: the URL must not hold a user or password (the token is the credential; give the user with --username)", flag, msgsafe.URL(raw))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %s: not an http or https URL", flag, msgsafe.URL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("%s %s: the URL must not have a query or fragment (not repeated here: it may hold a secret)", flag, msgsafe.URL(raw))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	u.Host = host
	if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	}
	if port != "" {
		u.Host += ":" + port
	}
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	return u, nil
}

// userFile reads the user's own configuration file of a tool: the file the first of vars that is
// set names, else the first of defaults that exists (internal/platform knows where each tool looks
// on each system). It is "" when there is none: reading it is how an injector keeps the user's
// lines in the file it writes instead.
func (c Config) userFile(defaults []string, vars ...string) (string, error) {
	var paths []string
	for _, v := range vars {
		if p, ok := c.lookup(v); ok && p != "" {
			paths = []string{p}
			break
		}
	}
	if paths == nil {
		paths = defaults
	}
	for _, path := range paths {
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return "", nil
}

// goos is the operating system the tools run on: c.GOOS, else the one patinject runs on.
func (c Config) goos() string {
	if c.GOOS != "" {
		return c.GOOS
	}
	return platform.GOOS
}
