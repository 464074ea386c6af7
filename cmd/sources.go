package cmd

import (
	"log/slog"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/envsrc"
	"github.com/patinject/patinject/source/filesrc"
)

// sources builds one source per scheme. A new source is one line here.
func (a *app) sources(o *Options, log *slog.Logger) map[string]secret.Source {
	return map[string]secret.Source{
		"env":  &envsrc.Source{Lookup: a.lookup},
		"file": filesrc.Source{},
	}
}

func (a *app) resolver(o *Options, reg *cleanup.Registry, log *slog.Logger) *secret.Resolver {
	return &secret.Resolver{Sources: a.sources(o, log), Registry: reg, Log: log}
}
