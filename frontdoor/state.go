package frontdoor

import (
	"fmt"
	"path/filepath"

	"github.com/patinject/patinject/cienv"
)

// StateFileName is the default state file, in the platform's per-job temporary directory. What
// it holds, how it is sealed and what cleanup may act on is package cleanup's
// (cleanup/state.go, cleanup/open.go, cleanup/places.go).
const StateFileName = "patinject-state.json"

// defaultStatePath is where `inject` records, and `cleanup` looks, when --state is not given:
// the platform's per-job temporary directory, or for local use the user's state directory
// ($XDG_STATE_HOME/patinject, else ~/.local/state/patinject).
func defaultStatePath(p cienv.Platform, env cienv.Context, lookup func(string) (string, bool)) (string, error) {
	if d := env.TempDirOf(p); d != "" {
		return filepath.Join(d, StateFileName), nil
	}
	if d, ok := lookup("XDG_STATE_HOME"); ok && filepath.IsAbs(d) {
		return filepath.Join(d, "patinject", "state.json"), nil
	}
	if home, ok := lookup("HOME"); ok && filepath.IsAbs(home) {
		return filepath.Join(home, ".local", "state", "patinject", "state.json"), nil
	}
	return "", fmt.Errorf("no place for the state file: set HOME or give --state FILE")
}
