package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// nugetPluginCommand is the hidden `patinject nuget-plugin --config FILE -Plugin` that NuGet
// runs, through the launcher --nuget installs, as its authentication plugin when the --token
// refreshes (entra://).
func (a *app) nugetPluginCommand() *cli.Command {
	return &cli.Command{
		Name:   "nuget-plugin",
		Usage:  "NuGet authentication plugin (NuGet runs it; see --nuget)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "the plugin's configuration `FILE`, written by run or inject"},
			&cli.BoolFlag{Name: "Plugin", Usage: "speak NuGet's plugin protocol on stdin and stdout (NuGet passes it)"},
		},
		Action: func(c *cli.Context) error {
			if !c.Bool("Plugin") {
				return fmt.Errorf("nuget-plugin: NuGet runs this with -Plugin, through the launcher that --nuget installs; it is not for use by hand")
			}
			return a.p.NuGetPlugin(c.Context, c.String("config"))
		},
	}
}
