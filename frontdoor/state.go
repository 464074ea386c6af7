package frontdoor

import (
	"fmt"
	"path/filepath"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/internal/platform"
)

// StateFileName is the default state file, in the platform's per-job temporary directory. What
// it holds, how it is sealed and what cleanup may act on is package cleanup's
// (cleanup/state.go, cleanup/open.go, cleanup/places.go).
const StateFileName = "patinject-state.json"

// defaultStatePath is where `inject` records, and `cleanup` looks, when --state is not given:
// the platform's per-job temporary directory, or for local use the user's state directory
// ($XDG_STATE_HOME/patinject, else ~/.local/state/patinject; %LOCALAPPDATA%\patinject on Windows).
func defaultStatePath(p cienv.Platform, env cienv.Context, lookup func(string) (string, bool)) (string, error) {
	if d := env.TempDirOf(p); d != "" {
		return filepath.Join(d, StateFileName), nil
	}
	if f := platform.StateFile(platform.GOOS, lookup); f != "" { // %LOCALAPPDATA% on Windows
		return f, nil
	}
	return "", fmt.Errorf("no place for the state file: set HOME (LOCALAPPDATA on Windows) or give --state FILE")
}
