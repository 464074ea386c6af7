package frontdoor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
)

// stateVersion is the version of the state file's format; `cleanup` refuses any other.
const stateVersion = 1

// StateFileName is the default state file, in the platform's per-job temporary directory.
const StateFileName = "patinject-state.json"

// State is what `inject` leaves for `cleanup`: what to undo (ids, paths, expiry; never a
// value). Several `inject` steps in a job add to one state, and one `cleanup` undoes them all,
// last first.
type State struct {
	Version  int              `json:"version"`
	Platform string           `json:"platform"`
	Actions  []cleanup.Action `json:"actions"`
}

// ReadState reads the state at path; a missing file is an empty state and no error.
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the state file %s: %w", path, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("the state file %s is not patinject's (not JSON); remove it if nothing is left to undo", path)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("the state file %s has format version %d, this patinject reads %d; run the cleanup of the patinject that wrote it", path, st.Version, stateVersion)
	}
	return &st, nil
}

// WriteState writes st to path, 0600, atomically, making the directory if needed.
func WriteState(path string, st *State) error {
	st.Version = stateVersion
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing the state file %s: %w", path, err)
	}
	if err := writeFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("writing the state file %s: %w", path, err)
	}
	return nil
}

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
