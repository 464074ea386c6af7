package resolve

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/secret"
)

// Provider is one source in the registry: the scheme it resolves, the flags it reads, how to
// build it for one process, and how to take back what `inject` recorded. Everything that knows
// about sources is derived from the registry: the resolver's schemes, the list of known schemes
// in errors, the source flags of every command, and the dispatch of `cleanup`. A new source is
// one package that declares its Provider and one line in the registry (package source).
type Provider struct {
	Scheme string
	// Flags configure the source or carry the credentials it logs in with. `run`, `inject`,
	// `plan` and `cleanup` take them, since revoking needs what minting needed.
	Flags []Flag
	// New builds the source for one process. It must do no I/O: a process that resolves no
	// reference of this scheme pays nothing for it.
	New func(Env) Source
	// ForTools, when set, fits the reference given to --token to the tools it is handed to (an
	// ado-pat:// reference without scope= gets the least scopes they need). It returns the
	// reference to resolve and a note for the log ("" when nothing changed).
	ForTools func(ref secret.Ref, tools []ToolNeed) (secret.Ref, string, error)
	// Describe says, without any I/O, what resolving ref would do (`patinject plan`).
	Describe func(env Env, ref secret.Ref) (Description, error)
	// Probe checks, without minting or reading a secret, what can be checked of ref: that the
	// login works and the path is readable (`patinject plan --check`). Nil: nothing to check.
	Probe func(ctx context.Context, env Env, ref secret.Ref) error
	// Kinds are the cleanup.Action kinds that Undo takes back, for `cleanup`.
	Kinds []string
	Undo  func(Env) func(context.Context, cleanup.Action) error
}

// Description is what resolving one reference would do, for `patinject plan`.
type Description struct {
	Action string // "mint", "read", "write"
	What   string // "an Azure DevOps PAT in contoso, scopes vso.code, for 1h0m0s, named ..."
	Undo   string // what the end of the run undoes of it; "" for nothing
	// Last is what the end of the run undoes once for all the references of its source, after
	// their own undo (a login token); "" for nothing.
	Last string
	// Details are further facts as name and value ("org": "contoso"), for the JSON form.
	Details map[string]string
}

// ToolNeed is what one tool given on the command line needs of the credential it is handed.
type ToolNeed struct {
	Flag   string   // "git"
	Scopes []string // Azure DevOps PAT scopes; none when the tool cannot say (a token variable)
}

// Provider returns the provider of scheme, or nil.
func (g Registry) Provider(scheme string) *Provider {
	for i := range g {
		if g[i].Scheme == scheme {
			return &g[i]
		}
	}
	return nil
}

// Flag is a flag that a source reads, declared as data so that the command line, the
// PATINJECT_* variables and the CI wrappers' inputs can be derived from it.
type Flag struct {
	Name     string // without dashes: "vault-auth"
	Usage    string // the placeholder in backquotes
	Default  string
	Category string
	Bool     bool
	// Credential says the value is a REF to a credential the source logs in or mints with: it
	// is resolved through Env.Credential, redacted like a secret, and the variable an env: REF
	// names is kept from the command and from later CI steps.
	Credential bool
}

// Env is what a source is built from: the process's surroundings and its settings.
type Env struct {
	Lookup  func(string) (string, bool)
	Environ func() []string
	// String and Bool read the value of one of the source's flags (or its PATINJECT_ variable).
	String func(name string) string
	Bool   func(name string) bool
	// Registry receives what must be undone that is not tied to one reference (a login token);
	// nil under `cleanup` and `pats`, where the source gives back what it takes at once.
	Registry *cleanup.Registry
	Log      *slog.Logger
	// Credential resolves the REF that the flag named was given, through the same sources as the
	// references of this process (one Vault login serves both); except names schemes that
	// cannot serve this credential (Vault cannot log in with a secret it holds).
	Credential func(ctx context.Context, flag string, except ...string) (secret.Value, error)
	// UsedCredential tells the resolver of a credential a source read or obtained by itself (a
	// Vault token from VAULT_TOKEN, the token a login returned, a CI ID token): it is redacted
	// like a secret, and the variable it was read from (envVar, "" for none) is kept from CMD.
	UsedCredential func(what string, v secret.Value, envVar string)
	// Progress tells the user of a slow step at the default log level (a mint, a login, a
	// revocation and its verification, a retry and its reason). Never a value.
	Progress func(msg string)
	// Journal records, before a source mints or leases, what it is about to create, so that a
	// patinject that dies on the way leaves nothing that nobody can find (nil: no journal).
	Journal   *cleanup.Journal
	UserAgent string
	// OnCredential, when set, is told each source credential the moment it is known, so that
	// patinject's own messages redact it from then on (msgfilter).
	OnCredential func(v secret.Value)
}

// Registry is the list of providers, and the resolver it makes.
type Registry []Provider

// Schemes are the registered schemes, sorted.
func (g Registry) Schemes() []string {
	var s []string
	for _, p := range g {
		s = append(s, p.Scheme)
	}
	slices.Sort(s)
	return s
}

// Flags are the flags of every source, in registry order.
func (g Registry) Flags() []Flag {
	var fs []Flag
	for _, p := range g {
		fs = append(fs, p.Flags...)
	}
	return fs
}

// Known reports whether s is a reference of a registered scheme.
func (g Registry) Known(s string) bool {
	scheme, ok := secret.Scheme(s)
	return ok && slices.Contains(g.Schemes(), scheme)
}

// Resolver builds every source for one process over env, and the resolver that uses them.
// env.Credential is set to the resolver's own, so that a source's credential comes from the
// same sources (and the same logins) as everything else.
func (g Registry) Resolver(env Env) *Resolver {
	r := &Resolver{Sources: map[string]Source{}, Registry: env.Registry, Log: env.Log}
	r.onCredential = env.OnCredential
	env.Credential = func(ctx context.Context, flag string, except ...string) (secret.Value, error) {
		return r.Credential(ctx, flag, env.String(flag), except...)
	}
	env.UsedCredential = r.used
	for _, p := range g {
		r.Sources[p.Scheme] = p.New(env)
	}
	return r
}

// Undoers are the `cleanup` undoers of every kind the providers record.
func (g Registry) Undoers(env Env) map[string]func(context.Context, cleanup.Action) error {
	out := map[string]func(context.Context, cleanup.Action) error{}
	r := g.Resolver(env)
	env.Credential = func(ctx context.Context, flag string, except ...string) (secret.Value, error) {
		return r.Credential(ctx, flag, env.String(flag), except...)
	}
	env.UsedCredential = r.used
	for _, p := range g {
		if p.Undo == nil {
			continue
		}
		undo := p.Undo(env)
		for _, k := range p.Kinds {
			out[k] = undo
		}
	}
	return out
}

// SourceCredential is a credential that a source used (an Entra token, a Vault login secret):
// the value to redact, and the variable it was read from, if any, to keep from the command.
type SourceCredential struct {
	What  string // the flag or variable it came from, for logs: "--ado-access-token", "VAULT_TOKEN"
	Value secret.Value
	Var   string // the environment variable it was read from; "" for none
}

// Credential resolves raw, the REF given to flag, through the resolver's own sources, except
// those named. What it resolved is recorded (see Credentials); its undo is registered.
func (r *Resolver) Credential(ctx context.Context, flag, raw string, except ...string) (secret.Value, error) {
	if raw == "" {
		return secret.Value{}, fmt.Errorf("--%s is not set", flag)
	}
	ref, err := secret.ParseRef(raw)
	if err != nil {
		return secret.Value{}, fmt.Errorf("--%s: %w", flag, err)
	}
	src, ok := r.Sources[ref.Scheme]
	if !ok || slices.Contains(except, ref.Scheme) {
		var allowed []string
		for s := range r.Sources {
			if !slices.Contains(except, s) {
				allowed = append(allowed, s)
			}
		}
		slices.Sort(allowed)
		if !ok {
			// A scheme nobody knows: the value may be the credential itself, typed where its
			// reference belongs; it is not repeated.
			return secret.Value{}, fmt.Errorf("--%s: not a reference of a known scheme (want %s); the value is not repeated: it may be the credential itself, which belongs in a variable or a file", flag, strings.Join(allowed, ", "))
		}
		return secret.Value{}, fmt.Errorf("--%s: takes a reference of scheme %s, not %q", flag, strings.Join(allowed, ", "), ref.Scheme)
	}
	if c, ok := src.(Checker); ok {
		if err := c.Check(ref); err != nil {
			return secret.Value{}, fmt.Errorf("--%s %s: %w", flag, ref, err)
		}
	}
	res, err := src.Resolve(ctx, ref)
	if err == nil && res.Undo != nil && r.Registry != nil {
		r.Registry.Add(res.Action, res.Undo)
	} else if err == nil && res.Undo != nil {
		// No registry (cleanup, pats): the credential is a value; give back what it took now.
		if uerr := res.Undo(context.WithoutCancel(ctx)); uerr != nil && r.Log != nil {
			r.Log.Warn("giving back what reading a credential took", "flag", "--"+flag, "err", uerr)
		}
	}
	if err != nil {
		return secret.Value{}, fmt.Errorf("--%s %s: %w", flag, ref, err)
	}
	envVar := ""
	if ref.Scheme == "env" {
		envVar = ref.Opaque
	}
	r.used("--"+flag, res.Value, envVar)
	return res.Value, nil
}

// used records a source credential.
func (r *Resolver) used(what string, v secret.Value, envVar string) {
	if r.onCredential != nil {
		r.onCredential(v)
	}
	r.credMu.Lock()
	defer r.credMu.Unlock()
	r.creds = append(r.creds, SourceCredential{What: what, Value: v, Var: envVar})
}

// Credentials are the source credentials resolved so far.
func (r *Resolver) Credentials() []SourceCredential {
	r.credMu.Lock()
	defer r.credMu.Unlock()
	return slices.Clone(r.creds)
}

// credentials is embedded in Resolver.
type credentials struct {
	credMu       sync.Mutex
	creds        []SourceCredential
	onCredential func(secret.Value)
}
