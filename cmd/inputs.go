package cmd

import (
	"encoding/json"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/internal/wrappers"
)

// Input is one input of the CI wrappers (action.yml, the Azure Pipelines task), derived from a
// flag of `inject`: the wrappers' tables are generated from, and tested against, this list.
//go:generate go run ../internal/wrappers/gen -root ..

type Input struct {
	Flag      string `json:"flag"`
	GitHub    string `json:"github"` // kebab-case input of the action
	Azure     string `json:"azure"`  // camelCase input of the task
	Env       string `json:"env"`    // the PATINJECT_ variable the wrappers set
	Kind      string `json:"kind"`   // scalar, list (a multi-line input, one value a line) or bool
	Default   string `json:"default,omitempty"`
	Usage     string `json:"usage"`
	Category  string `json:"category,omitempty"`
	AzureOnly bool   `json:"azure_only,omitempty"`
	Post      bool   `json:"post,omitempty"` // the post step's cleanup takes it too
}

// wrapperSets are the flags of inject that a wrapper sets itself, or that make no sense there.
var wrapperSets = map[string]bool{"platform": true, "dotenv": true, "help": true}

// Inputs lists the wrappers' inputs in the order of inject's flags.
func Inputs() []Input {
	a := &app{p: &frontdoor.Process{}}
	post := map[string]bool{}
	for _, f := range a.cleanupCommand().Flags {
		post[f.Names()[0]] = true
	}
	var out []Input
	for _, f := range a.injectCommand().Flags {
		name := f.Names()[0]
		if wrapperSets[name] {
			continue
		}
		in := Input{Flag: name, GitHub: name, Env: envOf(name)[0], Kind: "scalar"}
		if name == "secret" {
			in.GitHub = "secrets"
		}
		in.Azure = camel(in.GitHub)
		if df, ok := f.(cli.DocGenerationFlag); ok {
			in.Usage = df.GetUsage()
			in.Default = df.GetValue()
		}
		if cf, ok := f.(cli.CategorizableFlag); ok {
			in.Category = cf.GetCategory()
		}
		// The state file is the post step's own business (it finds it through the saved state).
		in.Post = post[name] && name != "state" && name != "platform"
		switch f.(type) {
		case *cli.StringSliceFlag:
			in.Kind = "list"
		case *cli.BoolFlag:
			in.Kind, in.Default = "bool", "false"
		}
		// A GitHub job has no Azure service connection.
		in.AzureOnly = name == "vault-azure-service-connection"
		out = append(out, in)
	}
	return out
}

func camel(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// inputsCommand prints the table as JSON, for the wrappers' generator and for scripts.
func (a *app) inputsCommand() *cli.Command {
	return &cli.Command{
		Name:   "inputs",
		Usage:  "print the CI wrappers' inputs, derived from the flags of inject, as JSON",
		Hidden: true,
		Action: func(c *cli.Context) error {
			enc := json.NewEncoder(a.p.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(Inputs())
		},
	}
}

// WrapperInputs is Inputs in the form the wrappers' generator takes.
func WrapperInputs() []wrappers.Input {
	var out []wrappers.Input
	for _, in := range Inputs() {
		out = append(out, wrappers.Input{Flag: in.Flag, GitHub: in.GitHub, Azure: in.Azure, Kind: in.Kind,
			Default: in.Default, Usage: in.Usage, Category: in.Category, AzureOnly: in.AzureOnly, Post: in.Post})
	}
	return out
}
