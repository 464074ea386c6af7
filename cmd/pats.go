package cmd

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/source/adopat"
)

// adoCategory is the help category of the Azure DevOps flags.
const adoCategory = "Azure DevOps"

// patsCommand shows and revokes the user's PATs: what ado-pat:// minted, or left behind. It
// prints metadata only; the API never returns a token after its creation.
func (a *app) patsCommand() *cli.Command {
	// The flags that say how to reach the token service and where the access token comes from;
	// a vault:// one logs in with the --vault-* flags, which are taken but not listed.
	flags := func() []cli.Flag {
		fs := sourceFlags(func(f resolve.Flag) bool { return f.Category != adoCategory })
		return append(fs, debugSpec.flag())
	}
	return &cli.Command{
		Name:  "pats",
		Usage: "list, show and revoke your Azure DevOps PATs, and list the PAT scopes",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list your PATs in ORG (metadata only: the API never returns a token again)",
				ArgsUsage: "ORG",
				Flags: append(flags(), flagsOf(
					spec{name: "filter", def: "active", category: adoCategory, usage: "which PATs: active, revoked, expired or all"},
					spec{name: "name", category: adoCategory, usage: "only PATs whose display name contains `TEXT`"},
				)...),
				Action: a.patsList,
			},
			{
				Name:      "get",
				Usage:     "show one PAT of yours",
				ArgsUsage: "ORG AUTHORIZATION-ID",
				Flags:     flags(),
				Action:    a.patsGet,
			},
			{
				Name:      "revoke",
				Usage:     "revoke one PAT of yours (what a failed cleanup left, for instance)",
				ArgsUsage: "ORG AUTHORIZATION-ID",
				Flags:     flags(),
				Action:    a.patsRevoke,
			},
			{
				Name:   "scopes",
				Usage:  "list the PAT scopes that ado-pat://ORG?scope=... takes",
				Action: a.patsScopes,
			},
		},
	}
}

func (a *app) patsScopes(*cli.Context) error {
	w := tabwriter.NewWriter(a.p.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SCOPE\tWHAT\tHIGH-PRIVILEGE")
	for _, s := range adopat.ScopeNames() {
		name, high := adopat.ScopeDescription(s)
		fmt.Fprintf(w, "%s\t%s\t%s\n", s, name, map[bool]string{true: "yes"}[high])
	}
	fmt.Fprintf(w, "%s\t%s\t%s\n", adopat.FullAccess, "Full access (needs --ado-allow-full-access)", "yes")
	return w.Flush()
}

// patsClient builds the client from the command's flags; args are the positional arguments
// wanted, named for the message.
func (a *app) patsClient(c *cli.Context, args ...string) (*adopat.Client, error) {
	if c.NArg() != len(args) {
		return nil, fmt.Errorf("pats %s takes %s", c.Command.Name, strings.Join(args, " "))
	}
	if org := c.Args().First(); org == "" || strings.ContainsAny(org, "/?#") {
		return nil, fmt.Errorf("%q is not an organisation name", org)
	}
	o := optionsFrom(c)
	return adopat.NewClient(a.p.SourceEnv(o), o.Source["ado-url"]), nil
}

func (a *app) patsList(c *cli.Context) error {
	client, err := a.patsClient(c, "ORG")
	if err != nil {
		return err
	}
	filter := c.String("filter")
	switch filter {
	case "active", "revoked", "expired", "all":
	default:
		return fmt.Errorf("--filter %s: want active, revoked, expired or all", filter)
	}
	org := c.Args().First()
	pats, err := client.ListAll(c.Context, org, filter)
	if err != nil {
		return fmt.Errorf("list PATs in %s: %w", org, err)
	}
	w := tabwriter.NewWriter(a.p.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AUTHORIZATION ID\tVALID TO\tSCOPE\tNAME")
	n := 0
	for _, p := range pats {
		if s := c.String("name"); s != "" && !strings.Contains(p.DisplayName, s) {
			continue
		}
		n++
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", frontdoor.OneLine(p.AuthorizationID), p.ValidTo.UTC().Format(time.RFC3339), frontdoor.OneLine(p.Scope), frontdoor.OneLine(p.DisplayName))
	}
	if n == 0 {
		fmt.Fprintf(a.p.Stderr, "patinject: no %s PATs in %s\n", filter, org)
		return nil
	}
	return w.Flush()
}

func (a *app) patsGet(c *cli.Context) error {
	client, err := a.patsClient(c, "ORG", "AUTHORIZATION-ID")
	if err != nil {
		return err
	}
	org, id := c.Args().Get(0), c.Args().Get(1)
	p, err := client.Get(c.Context, org, id)
	if err != nil {
		return fmt.Errorf("get PAT %s in %s: %w", id, org, err)
	}
	targets := "all organisations"
	if p.TargetAccounts != nil {
		targets = frontdoor.OneLine(strings.Join(p.TargetAccounts, ", "))
	}
	fmt.Fprintf(a.p.Stdout, "authorization id: %s\nname: %s\nscope: %s\nvalid from: %s\nvalid to: %s\norganisations: %s\n",
		frontdoor.OneLine(p.AuthorizationID), frontdoor.OneLine(p.DisplayName), frontdoor.OneLine(p.Scope),
		p.ValidFrom.UTC().Format(time.RFC3339), p.ValidTo.UTC().Format(time.RFC3339), targets)
	return nil
}

func (a *app) patsRevoke(c *cli.Context) error {
	client, err := a.patsClient(c, "ORG", "AUTHORIZATION-ID")
	if err != nil {
		return err
	}
	org, id := c.Args().Get(0), c.Args().Get(1)
	if err := client.Revoke(c.Context, org, id); err != nil {
		return fmt.Errorf("revoke PAT %s in %s: %w", id, org, err)
	}
	fmt.Fprintf(a.p.Stdout, "revoked PAT %s in %s\n", id, org)
	return nil
}
