package cmd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/secret"
)

// gitCredentialCommand is the hidden `patinject git-credential [flags] get|store|erase` that git
// runs as its credential helper when `run` or `inject` was given --git-credential-helper. Its
// flags come from the helper line patinject wrote itself; the token comes from a variable or a
// file in the private directory, never from argv.
func (a *app) gitCredentialCommand() *cli.Command {
	return &cli.Command{
		Name:      "git-credential",
		Usage:     "git credential helper (git runs it; see --git-credential-helper)",
		ArgsUsage: "get|store|erase",
		Hidden:    true,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "prefix", Usage: "answer for URLs under this `URL` prefix"},
			&cli.StringFlag{Name: "username", Value: inject.DefaultUsername, Usage: "user `NAME` to answer with"},
			&cli.StringFlag{Name: "password-env", Usage: "read the token from variable `NAME`"},
			&cli.StringFlag{Name: "password-file", Usage: "read the token from `FILE`"},
			&cli.Int64Flag{Name: "expiry", Usage: "the token's expiry, Unix `SECONDS`"},
			&cli.StringFlag{Name: "socket", Usage: "ask the running patinject at `PATH` for a fresh token"},
			&cli.StringFlag{Name: "refresh", Usage: "get `REF` again when the token in --password-file nears expiry"},
			&cli.StringFlag{Name: "refresh-env", Usage: "with --refresh, the variables as inject saw them, from `FILE`"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("git-credential: want one action, get, store or erase (git passes it)")
			}
			g := inject.GitCredential{
				Prefixes: c.StringSlice("prefix"),
				Username: c.String("username"),
				Password: a.helperPassword(c.String("password-env"), c.String("password-file")),
			}
			if s := c.Int64("expiry"); s > 0 {
				g.Expiry = time.Unix(s, 0)
			}
			if c.String("socket") != "" || c.String("refresh") != "" {
				g.Password, g.Expires = a.p.GitCredentialToken(frontdoor.RefreshFrom{Socket: c.String("socket"),
					Ref: c.String("refresh"), TokenFile: c.String("password-file"), EnvFile: c.String("refresh-env")})
			}
			return g.Serve(c.Args().First(), a.p.Stdin, a.p.Stdout)
		},
	}
}

func (a *app) helperPassword(env, file string) func() (secret.Value, error) {
	return func() (secret.Value, error) {
		switch {
		case env != "":
			v, ok := a.p.Lookup(env)
			if !ok || v == "" {
				return secret.Value{}, fmt.Errorf("git-credential: %s is not set (git runs this helper outside the patinject run that set it?)", env)
			}
			return secret.NewValue(v), nil
		case file != "":
			b, err := os.ReadFile(file)
			if err != nil {
				return secret.Value{}, fmt.Errorf("git-credential: reading the token: %w (was `patinject cleanup` already run?)", err)
			}
			return secret.NewValue(strings.TrimSuffix(string(b), "\n")), nil
		}
		return secret.Value{}, fmt.Errorf("git-credential: neither --password-env nor --password-file given")
	}
}
