// Package envsrc is the env: source: a secret read from patinject's own environment.
package envsrc

import (
	"context"
	"fmt"

	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// Source resolves env:NAME through Lookup (os.LookupEnv in production, a map in tests).
type Source struct {
	Lookup func(string) (string, bool)
}

var _ resolve.Source = (*Source)(nil)

func (s *Source) Resolve(_ context.Context, ref secret.Ref) (resolve.Resolved, error) {
	v, ok := s.Lookup(ref.Opaque)
	if !ok {
		return resolve.Resolved{}, fmt.Errorf("environment variable %s is not set; export it or change the reference", ref.Opaque)
	}
	if v == "" {
		return resolve.Resolved{}, fmt.Errorf("environment variable %s is empty", ref.Opaque)
	}
	return resolve.Resolved{Value: secret.NewValue(v)}, nil
}

// Provider registers the env: scheme.
var Provider = resolve.Provider{
	Scheme: "env",
	New:    func(env resolve.Env) resolve.Source { return &Source{Lookup: env.Lookup} },
	Describe: func(env resolve.Env, ref secret.Ref) (resolve.Description, error) {
		d := resolve.Description{Action: "read", What: "the environment variable " + ref.Opaque}
		if _, ok := env.Lookup(ref.Opaque); !ok {
			d.What += " (not set now)"
		}
		return d, nil
	},
}
