package frontdoor

import (
	"context"
	"errors"
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
// kinds, when not nil, limits the sweep to those kinds. sealed, when not nil, limits it to
// entries sealed with that key (a post step and the key its inject handed it; the zero key: no
// entry qualifies); the others are left, with a warning.
func (p *Process) sweepOrphans(ctx context.Context, o *Options, dir string, pl cienv.Platform, kinds map[string]bool, sealed *cleanup.Key) (undone, failed int) {
	var keys []cleanup.Key
	if sealed != nil {
		keys = append(keys, *sealed)
	}
	orphans, err := cleanup.Orphans(dir, alive, keys...)
	if err != nil {
		for _, e := range unjoin(err) {
			p.platformWarn(pl, fmt.Sprintf("reading the journals in %s: %v", dir, e))
		}
	}
	if sealed != nil {
		kept := orphans[:0:0]
		left := 0
		for _, orph := range orphans {
			if !orph.Action.Unsealed {
				kept = append(kept, orph)
			} else {
				left++
			}
		}
		if left > 0 {
			what := "1 journal entry"
			if left > 1 {
				what = fmt.Sprintf("%d journal entries", left)
			}
			p.platformWarn(pl, fmt.Sprintf("%s in %s not sealed with the key inject handed to this post step "+
				"(written by another process: a later build step, or a patinject run): left alone; if yours, "+
				"run patinject cleanup --orphans with the same flags, which takes back only what the service confirms is patinject's",
				what, dir))
		}
		orphans = kept
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
			var la *cleanup.LeftAlone
			if errors.As(err, &la) {
				// Only the journal's word, and the service does not back it (a later build step
				// wrote it?): nothing to retry, and the entry is closed so that it is not raised
				// again.
				p.platformWarn(pl, leftAloneWarning("a journal in "+dir, la))
				if cerr := orph.Close(); cerr != nil {
					p.Warnf("journal %s: %v", orph.File, cerr)
				}
				continue
			}
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
