package cmd

import (
	"context"
	"log/slog"
	"os"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/source/envsrc"
	"github.com/patinject/patinject/source/filesrc"
)

// sources builds one source per scheme. A new source is one line here. reg is where a source
// registers what is not tied to one reference (the vault source's login token).
func (a *app) sources(o *Options, reg *cleanup.Registry, log *slog.Logger) map[string]resolve.Source {
	return map[string]resolve.Source{
		"env":   &envsrc.Source{Lookup: a.lookup},
		"file":  filesrc.Source{},
		"vault": a.vaultSource(o, reg, log),

		"ado-pat": a.adoPatSource(o, reg, log),
	}
}

func (a *app) resolver(o *Options, reg *cleanup.Registry, log *slog.Logger) *resolve.Resolver {
	return &resolve.Resolver{Sources: a.sources(o, reg, log), Registry: reg, Log: log}
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
	vaultUndo := a.vaultUndo(o, log)
	return map[string]func(context.Context, cleanup.Action) error{
		"dir":         remove,
		"file":        remove,
		"vault-lease": vaultUndo,
		"vault-token": vaultUndo,
		"ado-pat":     a.adoPatUndo(o, log),
	}
}
