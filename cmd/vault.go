package cmd

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sethvargo/go-envconfig"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/envsrc"
	"github.com/patinject/patinject/source/filesrc"
	"github.com/patinject/patinject/source/vault"
)

// vaultLogin turns the --vault-* flags into how the vault source logs in. The credentials are
// references, resolved only when a login happens.
func (a *app) vaultLogin(o *Options) vault.Login {
	v := o.Vault
	l := vault.Login{Method: v.Auth, Path: v.AuthPath, Role: v.Role}
	if v.RoleID != "" {
		l.RoleID = a.refCredential("--vault-role-id", v.RoleID)
	}
	if v.SecretID != "" {
		l.SecretID = a.refCredential("--vault-secret-id", v.SecretID)
	}
	switch {
	case v.JWT != "":
		l.JWT = a.refCredential("--vault-jwt", v.JWT)
	case v.Auth == vault.MethodJWT:
		l.JWT = cienv.IDToken(envconfig.LookuperFunc(a.lookup), cienv.IDTokenOptions{
			Audience:               v.JWTAudience,
			AzureServiceConnection: v.AzureServiceConnection,
		})
	}
	return l
}

func (a *app) vaultSource(o *Options, reg *cleanup.Registry, log *slog.Logger) *vault.Source {
	return &vault.Source{Login: a.vaultLogin(o), Registry: reg, Log: log, Env: a.lookup}
}

// vaultUndo takes back, for `cleanup`, the leases and the login token that `inject` recorded,
// logging in afresh with the same --vault-* flags.
func (a *app) vaultUndo(o *Options, log *slog.Logger) func(context.Context, cleanup.Action) error {
	u := &vault.Undoer{Login: a.vaultLogin(o), Env: a.lookup, Log: log}
	return u.Undo
}

func (a *app) refCredential(flag, raw string) vault.Credential {
	return func(ctx context.Context) (secret.Value, error) { return a.resolveRef(ctx, flag, raw) }
}

// resolveRef resolves the one reference given to flag, through the env: and file: sources only
// (a credential that logs in to a source cannot come from that source).
func (a *app) resolveRef(ctx context.Context, flag, raw string) (secret.Value, error) {
	ref, err := secret.ParseRef(raw)
	if err != nil {
		return secret.Value{}, fmt.Errorf("%s: %w", flag, err)
	}
	var src resolve.Source
	switch ref.Scheme {
	case "env":
		src = &envsrc.Source{Lookup: a.lookup}
	case "file":
		src = filesrc.Source{}
	default:
		return secret.Value{}, fmt.Errorf("%s %s: takes env:NAME or file:PATH", flag, ref.Raw)
	}
	res, err := src.Resolve(ctx, ref)
	if err != nil {
		return secret.Value{}, fmt.Errorf("%s %s: %w", flag, ref.Raw, err)
	}
	return res.Value, nil
}
