package vault

import (
	"context"

	"github.com/sethvargo/go-envconfig"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

const category = "Vault"

// Provider registers the vault:// scheme and the --vault-* flags. Vault itself is configured
// the way the vault CLI is (VAULT_ADDR, VAULT_TOKEN, ...).
var Provider = resolve.Provider{
	Scheme: "vault",
	Flags: []resolve.Flag{
		{Name: "vault-auth", Default: MethodToken, Category: category, Usage: "how to log in to Vault: token, approle, jwt or kubernetes"},
		{Name: "vault-auth-path", Category: category, Usage: "mount `PATH` of the auth method; default its type"},
		{Name: "vault-role", Category: category, Usage: "role `NAME` for jwt and kubernetes"},
		{Name: "vault-role-id", Category: category, Credential: true, Usage: "AppRole role id (`REF`)"},
		{Name: "vault-secret-id", Category: category, Credential: true, Usage: "AppRole secret id (`REF`)"},
		{Name: "vault-jwt", Category: category, Credential: true, Usage: "the `JWT` (a REF) for jwt auth; default: the CI platform's own ID token"},
		{Name: "vault-jwt-audience", Category: category, Usage: "`AUDIENCE` asked of the CI platform's ID token"},
		{Name: "vault-azure-service-connection", Category: category, Usage: "Azure Pipelines service connection `ID` whose ID token jwt login uses"},
	},
	New: func(env resolve.Env) resolve.Source {
		return &Source{Login: login(env), Registry: env.Registry, Log: env.Log, Env: env.Lookup, Journal: env.Journal}
	},
	Describe: describe,
	Probe:    probe,
	Kinds:    []string{KindLease, KindToken},
	Undo: func(env resolve.Env) func(context.Context, cleanup.Action) error {
		u := &Undoer{Login: login(env), Env: env.Lookup, Log: env.Log}
		return u.Undo
	},
}

// login turns the --vault-* flags into how the source logs in. The credentials are references,
// resolved only when a login happens, never through Vault itself.
func login(env resolve.Env) Login {
	l := Login{Method: env.String("vault-auth"), Path: env.String("vault-auth-path"), Role: env.String("vault-role"), Used: env.UsedCredential, Progress: env.Progress}
	credential := func(flag string) Credential {
		return func(ctx context.Context) (secret.Value, error) { return env.Credential(ctx, flag, "vault", "ado-pat") }
	}
	if env.String("vault-role-id") != "" {
		l.RoleID = credential("vault-role-id")
	}
	if env.String("vault-secret-id") != "" {
		l.SecretID = credential("vault-secret-id")
	}
	switch {
	case env.String("vault-jwt") != "":
		l.JWT = credential("vault-jwt")
	case l.Method == MethodJWT:
		l.JWT = cienv.IDToken(envconfig.LookuperFunc(env.Lookup), cienv.IDTokenOptions{
			Audience:               env.String("vault-jwt-audience"),
			AzureServiceConnection: env.String("vault-azure-service-connection"),
		})
	}
	return l
}
