package cmd

import (
	"context"
	"log/slog"
	"os"

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

// undoers take back, by kind, the actions that `inject` recorded in its state file, so that
// `cleanup` can undo them in a later step. A source that mints or leases adds one line here.
func (a *app) undoers(o *Options, log *slog.Logger) map[string]func(context.Context, cleanup.Action) error {
	remove := func(_ context.Context, act cleanup.Action) error {
		if err := os.RemoveAll(act.ID); err != nil {
			return err
		}
		return nil
	}
	return map[string]func(context.Context, cleanup.Action) error{
		"dir":  remove,
		"file": remove,
	}
}
