package frontdoor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/secret"
)

// NuGetPlugin is `patinject nuget-plugin --config FILE -Plugin`, which NuGet runs through the
// launcher that --nuget installed for a token that refreshes: it speaks NuGet's plugin protocol
// on stdin and stdout and answers for the sources in FILE with the token from the running
// patinject's socket (run) or exchanged again from the CI identity (inject).
func (p *Process) NuGetPlugin(ctx context.Context, config string) error {
	b, err := os.ReadFile(config)
	if err != nil {
		return fmt.Errorf("nuget-plugin: reading its configuration: %w (was `patinject cleanup` already run?)", err)
	}
	var cfg inject.NuGetPluginConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("nuget-plugin: %s is not the configuration patinject wrote: %v", config, err)
	}
	if cfg.Socket == "" && cfg.Refresh == "" {
		return fmt.Errorf("nuget-plugin: %s names neither a socket nor a reference to refresh", config)
	}
	password, _ := p.credentialToken("nuget-plugin", RefreshFrom{Socket: cfg.Socket, Ref: cfg.Refresh, TokenFile: cfg.Token, EnvFile: cfg.RefreshEnv})
	return inject.NuGetPlugin{
		Sources:  cfg.Sources,
		Username: cfg.Username,
		Password: func(context.Context) (secret.Value, error) { return password() },
		Warn:     func(msg string) { fmt.Fprintf(p.Stderr, "patinject: %s\n", p.Line(msg)) },
	}.Serve(ctx, p.Stdin, p.Stdout)
}
