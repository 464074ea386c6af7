// Package source is the registry of secret sources: one line per scheme. Each source is a
// package of its own below this folder that declares its resolve.Provider.
package source

import (
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/source/adopat"
	"github.com/patinject/patinject/source/entra"
	"github.com/patinject/patinject/source/envsrc"
	"github.com/patinject/patinject/source/filesrc"
	"github.com/patinject/patinject/source/vault"
)

// Registry lists every source, in the order their flags are shown.
func Registry() resolve.Registry {
	return resolve.Registry{
		envsrc.Provider,
		filesrc.Provider,
		adopat.Provider,
		vault.Provider,
		entra.Provider,
	}
}
