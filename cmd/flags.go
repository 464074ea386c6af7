package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// envOf is the variable a flag also reads: PATINJECT_ and the name in upper case, '-' as '_'.
func envOf(name string) []string {
	return []string{"PATINJECT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

func str(name, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Usage: usage, EnvVars: envOf(name)}
}

func strDefault(name, value, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Value: value, Usage: usage, EnvVars: envOf(name)}
}

func list(name, usage string) *cli.StringSliceFlag {
	return &cli.StringSliceFlag{Name: name, Usage: usage, EnvVars: envOf(name)}
}

func boolean(name, usage string) *cli.BoolFlag {
	return &cli.BoolFlag{Name: name, Usage: usage, EnvVars: envOf(name)}
}

const (
	catSecrets = "Secrets"
	catTools   = "Tools"
	catVault   = "Vault"
	catAdo     = "Azure DevOps"
)

func withCategory(cat string, fs ...cli.Flag) []cli.Flag {
	for _, f := range fs {
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Category = cat
		case *cli.StringSliceFlag:
			f.Category = cat
		case *cli.BoolFlag:
			f.Category = cat
		}
	}
	return fs
}

// sourceFlags are the flags that say where secrets come from and how sources log in; `cleanup`
// takes them too, since revoking needs the same credentials as minting.
func sourceFlags() []cli.Flag {
	var fs []cli.Flag
	fs = append(fs, withCategory(catAdo,
		strDefault("ado-url", "https://vssps.dev.azure.com", "base `URL` of the Azure DevOps token service"),
		str("ado-access-token", "Microsoft Entra access token (`REF`) used to mint and revoke PATs; default: az account get-access-token"),
	)...)
	fs = append(fs, withCategory(catAdo,
		boolean("ado-allow-full-access", "allow minting a full-access PAT (scope app_token)"),
	)...)
	fs = append(fs, withCategory(catVault,
		strDefault("vault-auth", "token", "how to log in to Vault: token, approle, jwt or kubernetes"),
		str("vault-auth-path", "mount `PATH` of the auth method; default its type"),
		str("vault-role", "role `NAME` for jwt and kubernetes"),
		str("vault-role-id", "AppRole role id (`REF`)"),
		str("vault-secret-id", "AppRole secret id (`REF`)"),
		str("vault-jwt", "the `JWT` (a REF) for jwt auth; default: the CI platform's own ID token"),
		str("vault-jwt-audience", "`AUDIENCE` asked of the CI platform's ID token"),
		str("vault-azure-service-connection", "Azure Pipelines service connection `ID` whose ID token jwt login uses"),
	)...)
	fs = append(fs, withCategory(catSecrets,
		boolean("strict-cleanup", "exit 123 when a revocation or removal fails (default: warn)"),
	)...)
	fs = append(fs, boolean("debug", "log what is resolved and injected, by name and source (never values)"))
	return fs
}

// injectFlags are the flags shared by `run` and `inject`.
func injectFlags() []cli.Flag {
	fs := withCategory(catSecrets,
		str("token", "the credential (`REF`) handed to git, nuget, npm, netrc and token-env"),
		list("secret", "another secret exported as env var NAME (`NAME=REF`)"),
		list("env-file", "dotenv `FILE`; each VALUE is a REF or, matching no scheme, a literal"),
		list("not-secret", "variable `NAME` that is not secret: passed on, never redacted or masked"),
	)
	fs = append(fs, withCategory(catTools,
		str("username", "user `NAME` sent with the token in Basic auth (default \"patinject\")"),
		list("git", "git authenticates with the token for every URL under this `PREFIX`"),
		list("nuget", "NuGet package source (`URL` or NAME=URL of a v3 index)"),
		list("npm", "npm registry `URL`"),
		list("netrc", "a netrc entry for `HOST` (curl and other libcurl clients)"),
		list("token-env", "the token exported as env var `NAME`"),
		list("authorization-env", "the ready Authorization header value, Basic base64(user:token), exported as env var `NAME`"),
		boolean("git-credential-helper", "git asks patinject for the token on each 401 (a credential helper) instead of sending a fixed header"),
	)...)
	return append(fs, sourceFlags()...)
}
