package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/adopat"
)

// adoPatSource mints a PAT for each ado-pat:// reference.
func (a *app) adoPatSource(o *Options, reg *cleanup.Registry, log *slog.Logger) *adopat.Source {
	return &adopat.Source{
		Client:          a.adoClient(o, o.AdoURL, reg, log),
		AllowFullAccess: o.AdoAllowFullAccess,
		Purpose:         a.purpose,
		Log:             log,
	}
}

// adoPatUndo revokes, for `cleanup`, a PAT that `inject` minted, with a fresh access token got
// the way minting got it.
func (a *app) adoPatUndo(o *Options, log *slog.Logger) func(context.Context, cleanup.Action) error {
	clients := map[string]*adopat.Client{}
	auth := a.adoAccessToken(o, nil, log)
	return func(ctx context.Context, act cleanup.Action) error {
		base := act.Params["ado-url"]
		if base == "" {
			base = o.AdoURL
		}
		org := act.Params["org"]
		if org == "" {
			return fmt.Errorf("the state names no organisation for PAT %s", act.ID)
		}
		c, ok := clients[base]
		if !ok {
			c = a.adoClient(o, base, nil, log)
			c.Auth = auth
			clients[base] = c
		}
		return c.Revoke(ctx, org, act.ID)
	}
}

func (a *app) adoClient(o *Options, base string, reg *cleanup.Registry, log *slog.Logger) *adopat.Client {
	if base == "" {
		base = adopat.DefaultURL
	}
	return &adopat.Client{
		BaseURL:   base,
		Auth:      a.adoAccessToken(o, reg, log),
		Log:       log,
		UserAgent: "patinject/" + version,
	}
}

// adoAccessToken is the user's Entra access token for the PAT API: --ado-access-token REF, else
// what `az account get-access-token` prints when az is on PATH. Logging in to read the REF (a
// Vault login) is registered in reg, or given back at once when reg is nil: the token is a value.
func (a *app) adoAccessToken(o *Options, reg *cleanup.Registry, log *slog.Logger) *adopat.AccessToken {
	if raw := o.AdoAccessToken; raw != "" {
		return &adopat.AccessToken{Fixed: true, Fetch: func(ctx context.Context) (secret.Value, error) {
			return a.resolveAccessToken(ctx, o, reg, log, raw)
		}}
	}
	pathEnv, _ := a.lookup("PATH")
	az := lookPathIn("az", pathEnv)
	if az == "" {
		return &adopat.AccessToken{Fetch: func(context.Context) (secret.Value, error) {
			return secret.Value{}, adopat.ErrNoAccessToken
		}}
	}
	cli := adopat.AzCLI{Path: az, Env: a.environ()}
	return &adopat.AccessToken{Fetch: func(ctx context.Context) (secret.Value, error) {
		log.Debug("asking the Azure CLI for an access token", "az", az, "resource", adopat.ResourceID)
		return cli.Token(ctx)
	}}
}

func (a *app) resolveAccessToken(ctx context.Context, o *Options, reg *cleanup.Registry, log *slog.Logger, raw string) (secret.Value, error) {
	const flag = "--ado-access-token"
	ref, err := secret.ParseRef(raw)
	if err != nil {
		return secret.Value{}, fmt.Errorf("%s: %w", flag, err)
	}
	if ref.Scheme == adopat.Scheme {
		return secret.Value{}, fmt.Errorf("%s %s: a PAT cannot mint PATs; give a user's Microsoft Entra access token (env:NAME, file:PATH or vault://PATH#FIELD)", flag, ref.Raw)
	}
	local := reg == nil
	if local {
		reg = &cleanup.Registry{}
	}
	src, ok := a.sources(o, reg, log)[ref.Scheme]
	if !ok {
		return secret.Value{}, fmt.Errorf("%s %s: unknown scheme %q (want env:NAME, file:PATH or vault://PATH#FIELD)", flag, ref.Raw, ref.Scheme)
	}
	res, err := src.Resolve(ctx, ref)
	if err == nil && res.Undo != nil {
		reg.Add(res.Action, res.Undo)
	}
	if local {
		if derr := reg.Run(context.WithoutCancel(ctx), nil); derr != nil {
			a.warnf("%v", derr)
		}
	}
	if err != nil {
		return secret.Value{}, fmt.Errorf("%s %s: %w", flag, ref.Raw, err)
	}
	return res.Value, nil
}

// purpose is what the default display name of a PAT names: the repository and the run in CI,
// the user, host and time elsewhere, so that the mail Azure DevOps sends explains itself.
func (a *app) purpose() string {
	env, err := cienv.Load(context.Background(), envconfig.LookuperFunc(a.lookup))
	if err == nil {
		if s := strings.TrimSpace(env.Repository() + " " + env.Run()); s != "" {
			return s
		}
	}
	name, _ := a.lookup("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	who := strings.Trim(name+"@"+host, "@")
	return strings.TrimSpace(who + " " + time.Now().UTC().Format("2006-01-02 15:04Z"))
}

// lookPathIn finds an executable named name in the directories of pathEnv, as a shell would.
func lookPathIn(name, pathEnv string) string {
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}
