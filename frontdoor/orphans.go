package frontdoor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/internal/platform"
)

// journalDir is where this process journals what it mints: the CI platform's per-job temp
// directory (so the post step finds it), else the user's state directory, else the temporary
// directory.
func (p *Process) journalDir(env cienv.Context, pl cienv.Platform) string {
	if d := env.TempDirOf(pl); d != "" {
		return d
	}
	if d := platform.StateDir(platform.GOOS, p.Lookup); d != "" && underExistingDir(d) {
		return d
	}
	return os.TempDir()
}

// underExistingDir reports whether the nearest existing ancestor of path is a directory other
// than the root (a HOME that does not exist, as in some containers, does not count).
func underExistingDir(path string) bool {
	for dir := filepath.Dir(path); dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if st, err := os.Stat(dir); err == nil {
			return st.IsDir()
		}
	}
	return false
}

// journal opens this process's journal, where the platform detected says.
func (p *Process) journal(ctx context.Context) (*cleanup.Journal, string) {
	env, err := p.ciContext(ctx)
	if err != nil {
		return nil, ""
	}
	dir := p.journalDir(env, env.Detect())
	return cleanup.NewJournal(dir), dir
}

// sweepOrphans takes back what a patinject that died left in the journals of dir: each open
// entry through the undoer of its kind, with this command's source flags. What cannot be taken
// back stays in the journal, for the next sweep, and is a warning.
// kinds, when not nil, limits the sweep to those kinds.
func (p *Process) sweepOrphans(ctx context.Context, o *Options, dir string, pl cienv.Platform, kinds map[string]bool) (undone, failed int) {
	orphans, err := cleanup.Orphans(dir, alive)
	if err != nil {
		p.platformWarn(pl, fmt.Sprintf("reading the journals in %s: %v", dir, err))
	}
	if len(orphans) == 0 {
		return 0, 0
	}
	log := p.Logger(o.Debug)
	undoers := p.sources().Undoers(p.sourceEnv(o, nil, log))
	for _, orph := range orphans {
		act := orph.Action
		if kinds != nil && !kinds[act.Kind] {
			log.Debug("a journal holds what this command's flags cannot take back", "kind", act.Kind, "pid", orph.PID, "file", orph.File)
			continue
		}
		undo, ok := undoers[act.Kind]
		if !ok {
			p.platformWarn(pl, fmt.Sprintf("a patinject that died (pid %d) left %s, which this patinject cannot undo", orph.PID, act))
			failed++
			continue
		}
		p.progressf("taking back what a patinject that died (pid %d) left: %s", orph.PID, describeOrphan(act))
		if err := undo(ctx, act); err != nil {
			p.platformWarn(pl, fmt.Sprintf("could not take back %s left by pid %d: %v (run patinject cleanup --orphans with the same flags to retry)", describeOrphan(act), orph.PID, err))
			failed++
			continue
		}
		if err := orph.Close(); err != nil {
			p.Warnf("journal %s: %v", orph.File, err)
		}
		undone++
	}
	return undone, failed
}

func describeOrphan(act cleanup.Action) string {
	switch {
	case act.ID != "":
		return act.Kind + " " + act.ID
	case act.Params["name"] != "":
		return fmt.Sprintf("%s named %q (its id never written)", act.Kind, act.Params["name"])
	}
	return act.Kind + " (its id never written)"
}

func (p *Process) progressf(format string, args ...any) {
	fmt.Fprintf(p.Stderr, "patinject: %s\n", OneLine(fmt.Sprintf(format, args...)))
}
