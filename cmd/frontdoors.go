package cmd

import (
	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/frontdoor"
)

// refHelp is the REF grammar, shown by the help of the commands that take references.
const refHelp = `A REF says where a secret comes from:
   env:NAME                            patinject's own environment variable NAME
   file:PATH                           the file's bytes, one trailing newline removed
   vault://PATH#FIELD                  a Vault secret's field (KV v1/v2; ?version=N; other parameters write)
   ado-pat://ORG?scope=S&ttl=D&name=N  a new Azure DevOps PAT, revoked at the end
   entra://TENANT?client_id=ID&via=V   a Microsoft Entra token for Azure DevOps from the CI's own identity`

func (a *app) runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "resolve the secrets, run CMD with them, redact them from its output, then revoke and remove",
		ArgsUsage: "-- CMD [ARGS...]",
		Description: refHelp + `

Examples:
   patinject run --token env:CI_PAT --git https://dev.azure.com/contoso/ -- git clone https://dev.azure.com/contoso/app/_git/app
   patinject run --secret NPM_TOKEN=vault://secret/ci/npm#token --env-file ci.env -- ./build.sh`,
		Flags:        append(resolveFlags(), noRedactSpec.flag()),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			o := optionsFrom(c)
			a.warnToolless(o)
			return a.p.Run(c.Context, o, frontdoor.RunOptions{Args: c.Args().Slice(), NoRedact: c.Bool("no-redact")})
		},
	}
}

func (a *app) injectCommand() *cli.Command {
	return &cli.Command{
		Name:  "inject",
		Usage: "CI step: resolve the secrets, hand them to the later steps of the job through the CI platform, and record what cleanup must undo",
		Description: "Masks every value and derived form first, then sets the variables (GitHub Actions: GITHUB_ENV; " +
			"Azure Pipelines: task.setvariable, issecret for secrets) and writes tool configuration under the " +
			"platform's temp directory. GitLab CI has no way to mask a value found during a job: use patinject run there.\n\n" +
			refHelp + `

Examples:
   patinject inject --token 'ado-pat://contoso?scope=vso.code&ttl=30m' --git https://dev.azure.com/contoso/
   patinject inject --platform local --dotenv .env.ci --secret NPM_TOKEN=vault://secret/ci/npm#token`,
		Flags:        append(resolveFlags(), flagsOf(injectSpecs...)...),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return errInjectArgs
			}
			o := optionsFrom(c)
			a.warnToolless(o)
			return a.p.Inject(c.Context, o, frontdoor.InjectOptions{
				Platform: c.String("platform"), State: c.String("state"), Dotenv: c.String("dotenv"), AsFile: c.StringSlice("as-file"),
			})
		},
	}
}

func (a *app) cleanupCommand() *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "CI post step: revoke what inject minted and remove what it wrote; idempotent, quiet when there is nothing to do",
		Description: "Reads the state file that inject wrote (--state, else STATE_state in a GitHub post step, else " +
			"patinject-state.json in the platform's temp directory) and acts only on the record sealed with the key " +
			"inject handed to this post step (GitHub: STATE_statekey; Azure Pipelines: VSTS_TASKVARIABLE_PATINJECT_STATE_KEY; " +
			"local: a key file in the user's state directory). Credentials go only to --ado-url and VAULT_ADDR, never to " +
			"an address the state names; only patinject's own private directories and files are removed. A revocation " +
			"that fails is reported as a warning with the command that undoes it by hand; the step still succeeds unless " +
			"--strict-cleanup. It takes the same source flags as inject: revoking needs what minting needed.",
		Flags:        append(append(sourceFlags(nil), flagsOf(strictSpec, debugSpec)...), flagsOf(cleanupSpecs...)...),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return errCleanupArgs
			}
			return a.p.Cleanup(c.Context, optionsFrom(c), frontdoor.CleanupOptions{
				Platform: c.String("platform"), State: c.String("state"), Orphans: c.Bool("orphans"),
				TrustUnverified: c.Bool("trust-unverified-state"),
			})
		},
	}
}

func (a *app) planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "show what run or inject with the same flags would resolve, mint, inject, mask, write and undo, without contacting any service",
		Description: "Never prints a value. --check also checks what can be checked without minting or reading a " +
			"secret: the Vault login and the token's capabilities on each path, the Entra access token and the " +
			"organisation (by listing PATs).\n\n" + refHelp + `

Examples:
   patinject plan --token 'ado-pat://contoso?ttl=30m' --git https://dev.azure.com/contoso/ --nuget https://pkgs.dev.azure.com/contoso/_packaging/feed/nuget/v3/index.json
   patinject plan --check --json --secret NPM_TOKEN=vault://secret/ci/npm#token`,
		Flags: append(resolveFlags(), flagsOf(
			spec{name: "for", def: "run", usage: "the front door to plan for: run or inject"},
			spec{name: "check", kind: kindBool, usage: "also check logins and paths, without minting or reading a secret"},
			spec{name: "json", kind: kindBool, usage: "print the plan as JSON"},
		)...),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			return a.p.Plan(c.Context, optionsFrom(c), frontdoor.PlanOptions{For: c.String("for"), Check: c.Bool("check"), JSON: c.Bool("json")})
		},
	}
}

// warnToolless warns when --token is given with no tool to hand it to: it would go nowhere.
func (a *app) warnToolless(o *frontdoor.Options) {
	if o.Token != "" && !o.HasTools() {
		a.p.Warnf("--token is given but no tool to hand it to (--git, --nuget, --npm, --netrc, --token-env, --authorization-env): it is resolved and then unused")
	}
}
