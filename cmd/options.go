package cmd

import (
	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/source"
)

// optionsFrom reads the flags of the command into the front doors' options. A flag the command
// does not have reads as empty.
func optionsFrom(c *cli.Context) *frontdoor.Options {
	o := &frontdoor.Options{
		Token:         c.String("token"),
		Username:      c.String("username"),
		Secrets:       c.StringSlice("secret"),
		EnvFiles:      c.StringSlice("env-file"),
		NotSecret:     c.StringSlice("not-secret"),
		AllowNames:    c.StringSlice("allow-name"),
		ReservedNames: flagEnvNames(),
		Tools:         map[string][]string{},
		Source:        map[string]string{},
		Strict:        c.Bool("strict-cleanup"),

		KeepCredentialEnv: c.Bool("keep-credential-env"),
		NoOrphanSweep:     c.Bool("no-orphan-sweep"),
		Debug:             c.Bool("debug"),
	}
	for _, t := range inject.Tools() {
		switch {
		case t.Switch && c.Bool(t.Flag):
			o.Tools[t.Flag] = []string{"true"}
		case !t.Switch:
			if v := c.StringSlice(t.Flag); len(v) > 0 {
				o.Tools[t.Flag] = v
			}
		}
	}
	for _, f := range source.Registry().Flags() {
		switch {
		case f.Bool && c.Bool(f.Name):
			o.Source[f.Name] = "true"
		case !f.Bool:
			o.Source[f.Name] = c.String(f.Name)
		}
	}
	return o
}

// flagEnvNames are the PATINJECT_* variables that patinject's flags read: a secret under one of
// those names would steer a later patinject (its --ado-url, its --git prefixes).
func flagEnvNames() []string {
	var names []string
	for _, f := range append(resolveFlags(), flagsOf(injectSpecs...)...) {
		for _, n := range f.Names() {
			names = append(names, envOf(n)...)
		}
	}
	return names
}
