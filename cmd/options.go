package cmd

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/joho/godotenv"
	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// VaultOptions say how to log in to Vault.
type VaultOptions struct {
	Auth, AuthPath, Role, RoleID, SecretID, JWT, JWTAudience string
	AzureServiceConnection                                   string
}

// Options are the flags of `run` and `inject`, read once and validated in one place.
type Options struct {
	Token     string
	Username  string
	Git       []string
	NuGet     []string
	Npm       []string
	Netrc     []string
	TokenEnv  []string
	Secrets   []string
	EnvFiles  []string
	NotSecret []string

	AuthorizationEnv    []string
	GitCredentialHelper bool

	AdoURL             string
	AdoAccessToken     string
	AdoAllowFullAccess bool
	Vault              VaultOptions

	Strict bool
	Debug  bool
}

func optionsFrom(c *cli.Context) Options {
	return Options{
		Token:     c.String("token"),
		Username:  c.String("username"),
		Git:       c.StringSlice("git"),
		NuGet:     c.StringSlice("nuget"),
		Npm:       c.StringSlice("npm"),
		Netrc:     c.StringSlice("netrc"),
		TokenEnv:  c.StringSlice("token-env"),
		Secrets:   c.StringSlice("secret"),
		EnvFiles:  c.StringSlice("env-file"),
		NotSecret: c.StringSlice("not-secret"),

		AuthorizationEnv:    c.StringSlice("authorization-env"),
		GitCredentialHelper: c.Bool("git-credential-helper"),

		AdoURL:             c.String("ado-url"),
		AdoAccessToken:     c.String("ado-access-token"),
		AdoAllowFullAccess: c.Bool("ado-allow-full-access"),
		Vault: VaultOptions{
			Auth:                   c.String("vault-auth"),
			AuthPath:               c.String("vault-auth-path"),
			Role:                   c.String("vault-role"),
			RoleID:                 c.String("vault-role-id"),
			SecretID:               c.String("vault-secret-id"),
			JWT:                    c.String("vault-jwt"),
			JWTAudience:            c.String("vault-jwt-audience"),
			AzureServiceConnection: c.String("vault-azure-service-connection"),
		},
		Strict: c.Bool("strict-cleanup"),
		Debug:  c.Bool("debug"),
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate checks what can be checked without resolving anything.
func (o *Options) validate() error {
	if o.Token == "" && len(o.Secrets) == 0 && len(o.EnvFiles) == 0 {
		return fmt.Errorf("nothing to inject: give --token, --secret or --env-file")
	}
	if o.Token == "" && len(o.Git)+len(o.NuGet)+len(o.Npm)+len(o.Netrc)+len(o.TokenEnv)+len(o.AuthorizationEnv) > 0 {
		return fmt.Errorf("--git, --nuget, --npm, --netrc, --token-env and --authorization-env hand on the --token credential: give --token REF")
	}
	for _, s := range o.Secrets {
		name, ref, ok := strings.Cut(s, "=")
		if !ok || name == "" || ref == "" {
			return fmt.Errorf("--secret takes NAME=REF, as in --secret ADO_PAT=env:CI_PAT (got a value without '=' or with an empty side)")
		}
		if !envName.MatchString(name) {
			return fmt.Errorf("--secret %s: not a valid environment variable name (letters, digits, '_', not starting with a digit)", name)
		}
	}
	for _, n := range append(append(append([]string{}, o.TokenEnv...), o.NotSecret...), o.AuthorizationEnv...) {
		if !envName.MatchString(n) {
			return fmt.Errorf("%q: not a valid environment variable name (letters, digits, '_', not starting with a digit)", n)
		}
	}
	if o.Username != "" && strings.ContainsAny(o.Username, ":\r\n") {
		return fmt.Errorf("--username must not contain ':' or a line break")
	}
	switch o.Vault.Auth {
	case "", "token", "approle", "jwt", "kubernetes":
	default:
		return fmt.Errorf("--vault-auth %s: unknown method (want token, approle, jwt or kubernetes)", o.Vault.Auth)
	}
	return nil
}

// requests turns the options into what the resolver resolves, in order: env files first (later
// files override earlier ones), then --secret (overrides env files), then --token.
func (o *Options) requests(known func(string) bool) ([]resolve.Request, error) {
	public := map[string]bool{}
	for _, n := range o.NotSecret {
		public[n] = true
	}
	byName := map[string]int{}
	var reqs []resolve.Request
	put := func(q resolve.Request) {
		q.Public = public[q.Name]
		if i, ok := byName[q.Name]; ok {
			reqs[i] = q
			return
		}
		byName[q.Name] = len(reqs)
		reqs = append(reqs, q)
	}
	for _, path := range o.EnvFiles {
		vars, err := readEnvFile(path)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(vars))
		for k := range vars {
			names = append(names, k)
		}
		sort.Strings(names)
		from := "--env-file " + path
		for _, name := range names {
			v := vars[name]
			if !envName.MatchString(name) {
				return nil, fmt.Errorf("%s: %q is not a valid environment variable name", from, name)
			}
			if known(v) {
				ref, err := secret.ParseRef(v)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", from, name, err)
				}
				put(resolve.Request{Name: name, From: from, Ref: ref})
				continue
			}
			lit := secret.NewValue(v)
			put(resolve.Request{Name: name, From: from, Literal: &lit})
		}
	}
	for _, s := range o.Secrets {
		name, raw, _ := strings.Cut(s, "=")
		ref, err := secret.ParseRef(raw)
		if err != nil {
			return nil, fmt.Errorf("--secret %s: %w", name, err)
		}
		put(resolve.Request{Name: name, From: "--secret", Ref: ref})
	}
	if o.Token != "" {
		ref, err := secret.ParseRef(o.Token)
		if err != nil {
			return nil, fmt.Errorf("--token: %w", err)
		}
		reqs = append(reqs, resolve.Request{Name: tokenName, From: "", Ref: ref})
	}
	return reqs, nil
}

// tokenName is the request name of the --token credential; it is not exported by that name.
const tokenName = "--token"

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("--env-file %s: no such file", path)
		}
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	defer f.Close()
	vars, err := godotenv.Parse(f)
	if err != nil {
		// godotenv's messages quote the offending line, which may hold a secret: keep only the gist.
		return nil, fmt.Errorf("--env-file %s: not valid dotenv syntax (NAME=VALUE lines, quotes closed)", path)
	}
	return vars, nil
}

// checkLengths refuses values too short to redact, unless marked not secret.
func checkLengths(secrets []secret.Secret) error {
	for _, s := range secrets {
		if s.Public || s.Value.Len() >= inject.MinSecretLen {
			continue
		}
		what := s.Name
		if s.Name == tokenName {
			return fmt.Errorf("--token (%s): the value is %d bytes; a credential shorter than %d bytes cannot be redacted without shredding the output", s.Origin, s.Value.Len(), inject.MinSecretLen)
		}
		return fmt.Errorf("%s (%s): the value is %d bytes, too short to redact without shredding the output; if it is not a secret, say so with --not-secret %s",
			what, s.Origin, s.Value.Len(), s.Name)
	}
	return nil
}

func injectConfig(o *Options, secrets []secret.Secret, dir string, lookup func(string) (string, bool), mode inject.Mode) inject.Config {
	cfg := inject.Config{
		Username: o.Username,
		Git:      o.Git, NuGet: o.NuGet, Npm: o.Npm, Netrc: o.Netrc, TokenEnv: o.TokenEnv,
		AuthorizationEnv: o.AuthorizationEnv, GitCredentialHelper: o.GitCredentialHelper,
		Dir: dir, Lookup: lookup, Mode: mode,
	}
	for _, s := range secrets {
		if s.Name == tokenName {
			cfg.Token, cfg.TokenExpiry = s.Value, s.Expiry
		}
	}
	toolSurroundings(&cfg)
	return cfg
}
