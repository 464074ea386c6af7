package frontdoor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/patinject/patinject/envpolicy"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// Options are the flags of `run`, `inject`, `plan` and `cleanup`, read once and validated in one
// place.
type Options struct {
	Token     string // the REF of the credential handed to the tools
	Username  string
	Tools     map[string][]string // by inject.Tool.Flag; a switch is {"true"}
	Secrets   []string            // NAME=REF
	EnvFiles  []string
	NotSecret []string
	// AllowNames are names allowed although they take over later steps (--allow-name).
	AllowNames []string
	// ReservedNames are further names refused: the PATINJECT_* variables patinject's own flags
	// read (cmd fills them in).
	ReservedNames []string
	// Source holds the source flags (resolve.Flag), by name; a bool flag is "true" or "".
	Source map[string]string

	// KeepCredentialEnv passes the variables that source credentials were read from
	// (VAULT_TOKEN, an env: REF given to --ado-access-token or --vault-*) on to CMD.
	KeepCredentialEnv bool
	// NoOrphanSweep: do not take back, at the start, what a patinject that died left.
	NoOrphanSweep bool

	Strict bool
	Debug  bool
}

// Validate checks what can be checked without resolving anything.
func (o *Options) Validate() error {
	if o.Token == "" && len(o.Secrets) == 0 && len(o.EnvFiles) == 0 {
		return fmt.Errorf("nothing to inject: give --token, --secret or --env-file")
	}
	if o.Token == "" {
		for _, t := range inject.Tools() {
			if !t.Switch && len(o.Tools[t.Flag]) > 0 {
				return fmt.Errorf("--%s: the tools hand on the --token credential; give --token REF", t.Flag)
			}
		}
	}
	for _, s := range o.Secrets {
		name, ref, ok := strings.Cut(s, "=")
		if !ok || name == "" || ref == "" {
			return fmt.Errorf("--secret takes NAME=REF, as in --secret ADO_PAT=env:CI_PAT (got a value without '=' or with an empty side)")
		}
		if err := inject.CheckEnvName("--secret", name); err != nil {
			return err
		}
		if err := o.namePolicy().Check("--secret", name); err != nil {
			return err
		}
	}
	for _, n := range o.NotSecret {
		if err := inject.CheckEnvName("--not-secret", n); err != nil {
			return err
		}
	}
	if o.Username != "" && strings.ContainsAny(o.Username, ":\r\n") {
		return fmt.Errorf("--username must not contain ':' or a line break")
	}
	switch o.Source["vault-auth"] {
	case "", "token", "approle", "jwt", "kubernetes":
	default:
		return fmt.Errorf("--vault-auth %s: unknown method (want token, approle, jwt or kubernetes)", o.Source["vault-auth"])
	}
	if err := inject.CheckTools(o.Tools); err != nil {
		return err
	}
	for _, t := range inject.Tools() {
		if t.SetsVars {
			if err := o.namePolicy().CheckAll("--"+t.Flag, o.Tools[t.Flag]); err != nil {
				return err
			}
		}
	}
	return nil
}

// namePolicy refuses the names that would take over later programs (envpolicy), but those
// allowed with --allow-name.
func (o *Options) namePolicy() envpolicy.Policy {
	return envpolicy.Policy{Allow: o.AllowNames, Reserved: o.ReservedNames}
}

// valueWarnings are the warnings for secret values that redaction will make a mess of.
func valueWarnings(secrets []secret.Secret) []string {
	var out []string
	for _, s := range secrets {
		if s.Public {
			continue
		}
		if w := envpolicy.ValueWarning(s.Name, s.Value.Reveal()); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// HasTools reports whether any tool is given a value.
func (o *Options) HasTools() bool {
	for _, t := range inject.Tools() {
		if !t.Switch && len(o.Tools[t.Flag]) > 0 {
			return true
		}
	}
	return false
}

// requests turns the options into what the resolver resolves, in order: env files first (later
// files override earlier ones), then --secret (overrides env files). The --token credential is
// returned on its own.
func (o *Options) requests(known func(string) bool) (reqs []resolve.Request, token *resolve.Request, err error) {
	public := map[string]bool{}
	for _, n := range o.NotSecret {
		public[n] = true
	}
	byName := map[string]int{}
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
		qs, err := envFileRequests(path, known, o.namePolicy())
		if err != nil {
			return nil, nil, err
		}
		for _, q := range qs {
			put(q)
		}
	}
	for _, s := range o.Secrets {
		name, raw, _ := strings.Cut(s, "=")
		ref, err := secret.ParseRef(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("--secret %s: %w", name, err)
		}
		put(resolve.Request{Name: name, From: "--secret", Ref: ref})
	}
	if o.Token != "" {
		ref, err := secret.ParseRef(o.Token)
		if err != nil {
			return nil, nil, fmt.Errorf("--token: %w", err)
		}
		token = &resolve.Request{Name: "--token", Ref: ref}
	}
	return reqs, token, nil
}

// envFileRequests reads one dotenv file: a value of a known scheme is a reference, anything
// else a literal.
func envFileRequests(path string, known func(string) bool, policy envpolicy.Policy) ([]resolve.Request, error) {
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
	var reqs []resolve.Request
	for _, name := range names {
		v := vars[name]
		if err := inject.CheckEnvName(from+":", name); err != nil {
			return nil, err
		}
		if err := policy.Check(from+":", name); err != nil {
			return nil, err
		}
		if !known(v) {
			lit := secret.NewValue(v)
			reqs = append(reqs, resolve.Request{Name: name, From: from, Literal: &lit})
			continue
		}
		ref, err := secret.ParseRef(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", from, name, err)
		}
		reqs = append(reqs, resolve.Request{Name: name, From: from, Ref: ref})
	}
	return reqs, nil
}

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
func checkLengths(secrets []secret.Secret, token *secret.Secret) error {
	if token != nil && token.Value.Len() < inject.MinSecretLen {
		return fmt.Errorf("--token (%s): the value is %d bytes; a credential shorter than %d bytes cannot be redacted without shredding the output", token.Origin, token.Value.Len(), inject.MinSecretLen)
	}
	for _, s := range secrets {
		if s.Public || s.Value.Len() >= inject.MinSecretLen {
			continue
		}
		return fmt.Errorf("%s (%s): the value is %d bytes, too short to redact without shredding the output; if it is not a secret, say so with --not-secret %s",
			s.Name, s.Origin, s.Value.Len(), s.Name)
	}
	return nil
}

// toolConfig is what the tools' plans are built from.
func (o *Options) toolConfig(token *secret.Secret, dir string, lookup func(string) (string, bool), mode inject.Mode) inject.Config {
	cfg := inject.Config{Username: o.Username, Values: o.Tools, Dir: dir, Lookup: lookup, Mode: mode}
	if token != nil {
		cfg.Token, cfg.TokenExpiry = token.Value, token.Expiry
	}
	// What the tools learn from the machine rather than the flags: the working directory
	// (NuGet's config search), this executable (the git credential helper, NuGet's plugin),
	// git's version (GIT_CONFIG_COUNT needs 2.31).
	if wd, err := os.Getwd(); err == nil {
		cfg.WorkDir = wd
	}
	if len(o.Tools[inject.GitCredentialHelper.Flag]) > 0 || len(o.Tools[inject.NuGet.Flag]) > 0 {
		if self, err := os.Executable(); err == nil {
			if abs, err := filepath.Abs(self); err == nil {
				cfg.Self = abs
			}
		}
	}
	if len(o.Tools[inject.Git.Flag]) > 0 {
		cfg.GitVersion = gitVersion()
	}
	return cfg
}

var gitVersionRe = regexp.MustCompile(`git version (\d+\.\d+(?:\.\d+)?)`)

// gitVersion asks `git version`; "" when git is not found or says something else, which the
// injector takes as a recent git.
func gitVersion() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "version").Output()
	if err != nil {
		return ""
	}
	if m := gitVersionRe.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
}
