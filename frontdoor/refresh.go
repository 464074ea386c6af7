package frontdoor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/credsock"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// tokenSource is the --token reference and the source that resolved it, when it was a
// reference.
func (s *session) tokenSource(r resolved) (secret.Ref, resolve.Source, bool) {
	if r.token == nil {
		return secret.Ref{}, nil, false
	}
	ref, err := secret.ParseRef(r.token.Origin)
	if err != nil {
		return secret.Ref{}, nil, false
	}
	src, ok := s.resolver.Sources[ref.Scheme]
	return ref, src, ok
}

// tokenKind sets how the tools send the --token credential: as a bearer token when its source
// says so (entra://), else as a PAT.
func (s *session) tokenKind(cfg *inject.Config, r resolved) {
	// What the source answered with decides first (the Vault engine's creds say token_type).
	if r.token != nil && r.token.TokenType != "" {
		if r.token.TokenType == "bearer" {
			cfg.TokenKind = inject.Bearer
		}
		return
	}
	if ref, src, ok := s.tokenSource(r); ok {
		if b, ok := src.(resolve.Bearer); ok && b.Bearer(ref) {
			cfg.TokenKind = inject.Bearer
		}
	}
}

// refreshes reports whether helpers are to hand out the --token refreshed, and which: git's
// credential helper (--git-credential-helper) and NuGet's authentication plugin (--nuget),
// when the token's source refreshes (entra://). No I/O.
func (s *session) refreshes(r resolved) (ref secret.Ref, git, nuget bool) {
	ref, src, ok := s.tokenSource(r)
	if !ok {
		return secret.Ref{}, false, false
	}
	if _, ok := src.(resolve.Refresher); !ok {
		return secret.Ref{}, false, false
	}
	git = len(s.o.Tools[inject.GitCredentialHelper.Flag]) > 0
	nuget = len(s.o.Tools[inject.NuGet.Flag]) > 0
	return ref, git, nuget
}

// setRefresh gives the helpers that refresh their arguments.
func setRefresh(cfg *inject.Config, args []string, git, nuget bool) {
	if git {
		cfg.GitHelperRefresh = args
	}
	if nuget {
		cfg.NuGetRefresh = args
	}
}

// planHooks are what tokenKind and the refresh set on the tools' configuration, for `plan`
// (no I/O, no socket): the helpers' arguments as run and inject would give them.
func (s *session) planHooks(cfg *inject.Config, r resolved, dir string) {
	s.tokenKind(cfg, r)
	if ref, git, nuget := s.refreshes(r); git || nuget {
		args := []string{"--socket", filepath.Join(dir, credentialSocket)}
		if cfg.Mode == inject.ModeCI {
			args = injectRefreshArgs(ref, dir)
		}
		setRefresh(cfg, args, git, nuget)
	}
}

// injectRefreshArgs are the helpers' arguments after inject: the reference, and the file in
// the private directory dir with the variables as inject saw them (writeRefreshEnv).
func injectRefreshArgs(ref secret.Ref, dir string) []string {
	return []string{"--refresh", ref.Raw, "--refresh-env", filepath.Join(dir, "refresh-env.json")}
}

// credentialSocket is the name of run's socket in its private directory.
const credentialSocket = "credential.sock"

// refreshable is the --token reference and its fresh-value function when a helper hands out a
// refreshed token, and which helpers do.
func (s *session) refreshable(ctx context.Context, r resolved) (ref secret.Ref, fresh func(context.Context) (secret.Value, time.Time, error), git, nuget bool, err error) {
	ref, git, nuget = s.refreshes(r)
	if !git && !nuget {
		return secret.Ref{}, nil, false, false, nil
	}
	fresh, err = s.resolver.Sources[ref.Scheme].(resolve.Refresher).Fresh(ctx, ref)
	if err != nil {
		return secret.Ref{}, nil, false, false, err
	}
	return ref, fresh, git, nuget, nil
}

// gitCredentialSocket (run) serves the --token credential, refreshed before expiry, on a 0600
// socket in the private directory dir, made here, for git's credential helper and NuGet's
// plugin; both are gone when the run ends. It returns the helpers' arguments.
func (s *session) gitCredentialSocket(ref secret.Ref, fresh func(context.Context) (secret.Value, time.Time, error), dir string) ([]string, error) {
	if err := s.makeRunDir(); err != nil {
		return nil, err
	}
	srv, err := credsock.Listen(filepath.Join(dir, credentialSocket), func(ctx context.Context) (secret.Value, time.Time, error) {
		v, exp, err := fresh(ctx)
		if err != nil {
			s.log.Debug("credential helper: no fresh token", "ref", ref.Raw, "err", err)
			return v, exp, fmt.Errorf("%s: %w", ref.Raw, err)
		}
		// Redacted from the command's output before git has it.
		s.learnSecret(v)
		s.log.Debug("credential helper: token handed out", "ref", ref.Raw, "expires", exp.UTC().Format(time.RFC3339))
		return v, exp, nil
	})
	if err != nil {
		return nil, err
	}
	s.reg.Add(cleanup.Action{Kind: "file", ID: srv.Path}, func(context.Context) error { return srv.Close() })
	return []string{"--socket", srv.Path}, nil
}

// refreshMargin is how long before expiry the helper of `inject` replaces the token in its file
// when it does not know the token's lifetime; when it does, half the lifetime if that is less.
const refreshMargin = 2 * time.Minute

// GitCredentialToken is the token source of `patinject git-credential` (and, through
// credentialToken, of `patinject nuget-plugin`) for a refreshed token:
// the running patinject's socket (run), or the token file of `inject`, exchanged again from the
// same CI identity through the source of REF and written back when it nears expiry. expires
// reports the expiry of the token last returned.
func (p *Process) GitCredentialToken(f RefreshFrom) (password func() (secret.Value, error), expires func() time.Time) {
	return p.credentialToken("git-credential", f)
}

// RefreshFrom is where a helper gets a refreshed token: the running patinject's Socket (run), or
// Ref exchanged again (inject), cached in TokenFile, with the variables that say where the
// exchange goes (the authority, the identity, the ID token's endpoint, proxies, CA files) as
// `inject` saw them, from EnvFile: a step between inject and the helper could have changed
// them to send the job's ID token elsewhere.
type RefreshFrom struct {
	Socket, Ref, TokenFile, EnvFile string
}

// frozenEnv are the variables EnvFile holds. None is a secret.
var frozenEnv = []string{
	"AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE",
	"AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_OIDCREQUESTURI",
	"IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

// writeRefreshEnv saves the frozen variables as lookup has them (null: unset) to file.
func writeRefreshEnv(file string, lookup func(string) (string, bool)) error {
	m := map[string]*string{}
	for _, k := range frozenEnv {
		if v, ok := lookup(k); ok {
			m[k] = &v
		} else {
			m[k] = nil
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return privdir.WriteNew(file, b)
}

// frozenLookup is lookup with the variables of file as inject saw them. They are also set in
// this process's environment (the helper's own, short-lived), which the Azure SDK reads directly.
func frozenLookup(file string, lookup func(string) (string, bool)) (func(string) (string, bool), error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading what inject saw: %w (was `patinject cleanup` already run?)", err)
	}
	var m map[string]*string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is not what inject wrote: %v", file, err)
	}
	for _, k := range frozenEnv {
		if v := m[k]; v != nil {
			os.Setenv(k, *v)
		} else {
			os.Unsetenv(k)
		}
	}
	return func(k string) (string, bool) {
		if v, frozen := m[k]; frozen {
			if v == nil {
				return "", false
			}
			return *v, true
		}
		return lookup(k)
	}, nil
}

func (p *Process) credentialToken(who string, f RefreshFrom) (password func() (secret.Value, error), expires func() time.Time) {
	socket, refresh, file := f.Socket, f.Ref, f.TokenFile
	var exp time.Time
	expires = func() time.Time { return exp }
	if socket != "" {
		return func() (secret.Value, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			v, e, err := credsock.Ask(ctx, socket)
			if err != nil {
				return secret.Value{}, fmt.Errorf(who+": %w", err)
			}
			exp = e
			return v, nil
		}, expires
	}
	return func() (secret.Value, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if file == "" {
			return secret.Value{}, fmt.Errorf("%s: --refresh needs --password-file", who)
		}
		if v, e, margin, ok := readTokenCache(file); ok && time.Until(e) > margin {
			exp = e
			return v, nil
		}
		ref, err := secret.ParseRef(refresh)
		if err != nil {
			return secret.Value{}, fmt.Errorf(who+": --refresh: %w", err)
		}
		lookup := p.Lookup
		if f.EnvFile != "" {
			if lookup, err = frozenLookup(f.EnvFile, p.Lookup); err != nil {
				return secret.Value{}, fmt.Errorf("%s: %w", who, err)
			}
		}
		log := p.Logger(false)
		r := p.sources().Resolver(resolve.Env{Lookup: lookup, Environ: p.Environ, Log: log,
			String: func(string) string { return "" }, Bool: func(string) bool { return false }})
		rf, ok := r.Sources[ref.Scheme].(resolve.Refresher)
		if !ok {
			return secret.Value{}, fmt.Errorf(who+": --refresh %s: this source cannot refresh", ref.Raw)
		}
		v, e, err := func() (secret.Value, time.Time, error) {
			fresh, err := rf.Fresh(ctx, ref)
			if err != nil {
				return secret.Value{}, time.Time{}, err
			}
			return fresh(ctx)
		}()
		if err != nil {
			return secret.Value{}, fmt.Errorf(who+": a fresh token for %s: %w", ref.Raw, err)
		}
		if err := writeTokenCache(file, v, e); err != nil {
			return secret.Value{}, fmt.Errorf(who+": %w (was `patinject cleanup` already run?)", err)
		}
		exp = e
		return v, nil
	}, expires
}

// readTokenCache reads what inject.TokenCache writes, and says how long before expiry
// the token is to be replaced: refreshMargin, or half its lifetime for a short one (known only
// when the helper wrote the file; the first file, written by `inject`, gets refreshMargin).
func readTokenCache(file string) (v secret.Value, exp time.Time, margin time.Duration, ok bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return secret.Value{}, time.Time{}, 0, false
	}
	lines := strings.Split(string(b), "\n")
	var issued time.Time
	for _, l := range lines[1:] {
		k, s, _ := strings.Cut(l, "=")
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "expiry":
			exp = time.Unix(n, 0)
		case "issued":
			issued = time.Unix(n, 0)
		}
	}
	if lines[0] == "" || exp.IsZero() {
		return secret.Value{}, time.Time{}, 0, false
	}
	margin = refreshMargin
	if !issued.IsZero() {
		margin = min(margin, exp.Sub(issued)/2)
	}
	return secret.NewValue(lines[0]), exp, margin, true
}

// writeTokenCache replaces the file, 0600, through a new file beside it; it is only ever written
// where it already is (the private directory that `cleanup` removes).
func writeTokenCache(file string, v secret.Value, exp time.Time) error {
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("the token file is gone")
	}
	if err := privdir.Replace(file, []byte(inject.TokenCache(v, exp, time.Now()).Reveal())); err != nil {
		return fmt.Errorf("writing the token file failed")
	}
	return nil
}
