package adopat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/internal/platform"
	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

const category = "Azure DevOps"

// Provider registers the ado-pat:// scheme and the --ado-* flags.
var Provider = resolve.Provider{
	Scheme: Scheme,
	Flags: []resolve.Flag{
		{Name: "ado-url", Default: DefaultURL, Category: category, Usage: "base `URL` of the Azure DevOps token service"},
		{Name: "ado-access-token", Category: category, Credential: true, Usage: "Microsoft Entra access token (`REF`) used to mint and revoke PATs; default: az account get-access-token"},
		{Name: "ado-allow-full-access", Bool: true, Category: category, Usage: "allow minting a full-access PAT (scope app_token)"},
	},
	New: func(env resolve.Env) resolve.Source {
		return &Source{
			Client:          NewClient(env, env.String("ado-url")),
			AllowFullAccess: env.Bool("ado-allow-full-access"),
			Purpose:         func() string { return purpose(env.Lookup) },
			Log:             env.Log,
			Journal:         env.Journal,
		}
	},
	ForTools: forTools,
	Describe: describe,
	Probe: func(ctx context.Context, env resolve.Env, ref secret.Ref) error {
		spec, err := ParseSpec(ref, env.Bool("ado-allow-full-access"))
		if err != nil {
			return err
		}
		// Listing the user's PATs proves the access token and the organisation without minting.
		if _, err := NewClient(env, env.String("ado-url")).List(ctx, spec.Org, ListOptions{Top: 1}); err != nil {
			return fmt.Errorf("list PATs in %s (to check the access token without minting): %w", spec.Org, err)
		}
		return nil
	},
	Kinds: []string{Kind},
	Undo: func(env resolve.Env) func(context.Context, cleanup.Action) error {
		c := NewClient(env, env.String("ado-url"))
		return func(ctx context.Context, act cleanup.Action) error {
			org := act.Params["org"]
			if org == "" {
				return errors.New("the state names no organisation for PAT " + act.ID)
			}
			// The access token goes only where the flags, the environment or the default say:
			// a state file that names another service is refused, never followed.
			if err := cleanup.CheckEndpoint("--ado-url", act.Params["ado-url"], c.BaseURL); err != nil {
				return fmt.Errorf("PAT %s: %w", act.ID, err)
			}
			if act.ID == "" {
				// A patinject died between minting and learning the id: the display name, whose
				// random tag no other PAT carries, finds it.
				return revokeByName(ctx, c, org, act.Params["name"])
			}
			label := act.Label
			if label == "" {
				label = fmt.Sprintf("PAT %q in %s", act.Params["name"], org)
			}
			if act.Unsealed {
				// No seal vouches for the id: a later build step could have written it, to
				// have patinject revoke one of the user's own PATs. The service says whose it is.
				gone, err := confirmOwn(ctx, c, org, act.ID, act.Params["name"])
				if err != nil || gone {
					return err
				}
			}
			return c.RevokeVerified(ctx, org, act.ID, label)
		}
	},
}

// NewClient is a client of the token service at base, authenticated by the --ado-access-token
// REF, else by what `az account get-access-token` prints when az is on PATH.
func NewClient(env resolve.Env, base string) *Client {
	if base == "" {
		base = DefaultURL
	}
	return &Client{BaseURL: base, Auth: accessToken(env), Log: env.Log, UserAgent: env.UserAgent, Progress: env.Progress}
}

func accessToken(env resolve.Env) *AccessToken {
	if raw := env.String("ado-access-token"); raw != "" {
		// An entra:// reference is resolved again for a fresh token when the last is about to
		// expire (a job may outlast a user's hour-long token); other references give the same
		// value every time.
		scheme, _ := secret.Scheme(raw)
		return &AccessToken{Fixed: scheme != "entra", Fetch: func(ctx context.Context) (secret.Value, error) {
			if s, _ := secret.Scheme(raw); s == Scheme {
				return secret.Value{}, errors.New("--ado-access-token " + raw + ": a PAT cannot mint PATs; give a user's Microsoft Entra access token (env:NAME, file:PATH or vault://PATH#FIELD)")
			}
			return env.Credential(ctx, "ado-access-token", Scheme)
		}}
	}
	pathEnv, _ := env.Lookup("PATH")
	az := LookPath("az", pathEnv, runtime.GOOS, env.Lookup)
	if az == "" {
		return &AccessToken{Fetch: func(context.Context) (secret.Value, error) {
			return secret.Value{}, ErrNoAccessToken
		}}
	}
	cli := AzCLI{Path: az, Env: env.Environ()}
	return &AccessToken{Fetch: func(ctx context.Context) (secret.Value, error) {
		if env.Log != nil {
			env.Log.Debug("asking the Azure CLI for an access token", "az", az, "resource", ResourceID)
		}
		return cli.Token(ctx)
	}}
}

// purpose is what the default display name of a PAT names: the repository and the run in CI,
// the user, host and time elsewhere, so that the mail Azure DevOps sends explains itself.
func purpose(lookup func(string) (string, bool)) string {
	env, err := cienv.Load(context.Background(), envconfig.LookuperFunc(lookup))
	if err == nil {
		if s := strings.TrimSpace(env.Repository() + " " + env.Run()); s != "" {
			return s
		}
	}
	name, _ := lookup("USER")
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

// LookPath finds an executable named name in the directories of pathEnv, as the shell of goos
// would: on Windows with the extensions of PATHEXT (az is az.cmd there), elsewhere a file with
// an execute bit.
func LookPath(name, pathEnv, goos string, lookup func(string) (string, bool)) string {
	env := func(k string) (string, bool) {
		if k == "PATH" {
			return pathEnv, true
		}
		return lookup(k)
	}
	return platform.LookPath(goos, name, env, os.Stat) // tested for every OS in internal/platform
}

// forTools gives an ado-pat:// reference without scope= the least scopes the tools it is handed
// to need: read scopes only (write scopes are the user's to name). When a tool cannot say what
// it needs (a token variable, a netrc entry), nothing is inferred and the user must name them.
func forTools(ref secret.Ref, tools []resolve.ToolNeed) (secret.Ref, string, error) {
	if ref.Query.Has("scope") || len(tools) == 0 {
		return ref, "", nil
	}
	var scopes, from, unknown []string
	for _, t := range tools {
		if len(t.Scopes) == 0 {
			unknown = append(unknown, "--"+t.Flag)
			continue
		}
		from = append(from, "--"+t.Flag)
		for _, sc := range t.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	if len(unknown) > 0 {
		return ref, "", fmt.Errorf("no scope= given, and the scopes cannot be inferred from %s (what the job does with the token is its own): name them, as in scope=vso.code or scope=vso.packaging", strings.Join(unknown, ", "))
	}
	q := url.Values{}
	for k, v := range ref.Query {
		q[k] = v
	}
	q.Set("scope", strings.Join(scopes, " "))
	out := ref
	out.Query = q
	return out, fmt.Sprintf("%s has no scope=: minting with %s, the least that %s need (name write scopes yourself)", ref.Raw, strings.Join(scopes, " "), andList(from)), nil
}

func describe(env resolve.Env, ref secret.Ref) (resolve.Description, error) {
	spec, err := ParseSpec(ref, env.Bool("ado-allow-full-access"))
	if err != nil {
		return resolve.Description{}, err
	}
	name := spec.Name
	if name == "" {
		name = DefaultName(purpose(env.Lookup))
	}
	name += " <random tag>"
	base := msgsafe.URL(env.String("ado-url"))
	if env.String("ado-url") == "" {
		base = DefaultURL
	}
	auth := "az account get-access-token"
	if a := env.String("ado-access-token"); a != "" {
		// A reference names where the token lives; anything else may be the token itself,
		// typed in the wrong place, and is not repeated.
		auth = "--ado-access-token (not a reference)"
		if r, err := secret.ParseRef(a); err == nil {
			auth = "--ado-access-token " + r.String()
		}
	}
	scopes := strings.Join(spec.Scopes, " ")
	return resolve.Description{
		Action: "mint",
		What:   fmt.Sprintf("an Azure DevOps PAT in %s, scope %s, valid for %s, named %q, through %s with %s", spec.Org, scopes, spec.TTL, name, base, auth),
		Undo:   fmt.Sprintf("revoke the PAT minted in %s", spec.Org),
		Details: map[string]string{"org": spec.Org, "scope": scopes, "ttl": spec.TTL.String(), "name": name,
			"ado-url": base, "access-token": auth},
	}, nil
}

// andList joins "a", "b" and "c" as people write them.
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// confirmOwn checks with the service that the PAT id is one patinject minted: its display name
// ends in patinject's random tag and, when the record names it, is that name. gone is true
// when the service no longer knows the PAT (revoked, expired, or never this user's).
func confirmOwn(ctx context.Context, c *Client, org, id, name string) (gone bool, err error) {
	p, err := c.Get(ctx, org, id)
	var te *TokenError
	if errors.As(err, &te) && te.Code == "authorizationNotFound" {
		c.progress(fmt.Sprintf("PAT %s in %s: the service no longer knows it (revoked or expired)", id, org))
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("PAT %s in %s: looking it up, to check it is patinject's before revoking it on an unsealed record's word: %w", id, org, err)
	}
	switch {
	case !hasTag(p.DisplayName):
		return false, &cleanup.LeftAlone{Why: fmt.Sprintf("PAT %s in %s (%q) does not carry patinject's random tag: left alone", id, org, p.DisplayName)}
	case name != "" && p.DisplayName != name:
		return false, &cleanup.LeftAlone{Why: fmt.Sprintf("PAT %s in %s (%q) is not the PAT the record names (%q): left alone", id, org, p.DisplayName, name)}
	}
	return false, nil
}

// revokeByName revokes the active PATs of org named name (a name that ends in patinject's
// random tag). None found means the create never happened, or was already taken back.
func revokeByName(ctx context.Context, c *Client, org, name string) error {
	if name == "" {
		return errors.New("the journal names neither the PAT's id nor its display name")
	}
	// Only a name patinject gave: the journal is a file a later step could have written, and
	// another PAT of the user's with that name must not go.
	if !hasTag(name) {
		return fmt.Errorf("the journal names the PAT %q, which does not end in patinject's random tag: left alone", name)
	}
	active, err := c.ListAll(ctx, org, "active")
	if err != nil {
		return fmt.Errorf("list PATs in %s to find %q: %w", org, name, err)
	}
	found := 0
	for _, p := range active {
		if p.DisplayName != name {
			continue
		}
		found++
		if err := c.RevokeVerified(ctx, org, p.AuthorizationID, fmt.Sprintf("PAT %q in %s, found by its name", name, org)); err != nil {
			return err
		}
	}
	if found == 0 {
		c.progress(fmt.Sprintf("no active PAT named %q in %s: it was never minted, or is already revoked", name, org))
	}
	return nil
}
