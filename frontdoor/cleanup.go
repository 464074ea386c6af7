package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
)

// CleanupOptions are what `cleanup` takes besides the source flags in Options.
type CleanupOptions struct {
	Platform string // how to report warnings: auto, github, azure, gitlab or local
	State    string // the state file inject wrote; "" finds it as inject did
	Orphans  bool   // take back what a patinject that died left in its journal
	// TrustUnverified acts on records whose key is missing or whose seal does not verify
	// (--trust-unverified-state); the endpoint and removal rules still hold.
	TrustUnverified bool
}

// Cleanup revokes what `inject` minted and removes what it wrote, as its state file lists. It
// acts only on the record sealed with the key that inject handed to this cleanup (see
// cleanup.Opener), sends credentials only where its own flags, environment or defaults say, and
// removes only patinject's own files (cleanup.Places). It is idempotent and quiet when there is
// nothing to do; what fails is a warning that names it and how to undo it by hand, and stays in
// the state, sealed again, so that running cleanup again retries it.
func (p *Process) Cleanup(ctx context.Context, o *Options, co CleanupOptions) error {
	env, err := p.ciContext(ctx)
	if err != nil {
		return err
	}
	pl := cienv.Platform(co.Platform)
	if pl == "" || pl == "auto" {
		pl = env.Detect()
	}
	if co.Orphans {
		return p.cleanupOrphans(ctx, o, env, pl)
	}
	path, err := p.statePath(co.State, pl, env)
	if err != nil {
		return err
	}
	// Like a failed revocation, a state that cannot be trusted is reported where people look,
	// fatal only when asked.
	st, err := cleanup.ReadState(path)
	if err != nil {
		p.platformWarn(pl, err.Error())
		return strictly(o)
	}
	log := p.Logger(o.Debug)
	// Private directories of runs killed before they could remove them (privdir.Sweep).
	if removed, serr := privdir.Sweep(""); len(removed) > 0 || serr != nil {
		log.Debug("removed the private directories of killed runs", "dirs", removed, "error", serr)
	}
	if st == nil && env.TempDirOf(pl) != "" {
		// No state: the main step may have died before writing it. What it minted is in the
		// journal of the job's temp directory, sealed with the key it handed to this step before
		// it minted anything; only that counts here (no key: nothing does).
		var key cleanup.Key
		if k, ok, kerr := cleanup.KeyFromEnv(string(pl), p.Lookup); ok && kerr == nil {
			key = k
		}
		if _, failed := p.sweepOrphans(ctx, o, env.TempDirOf(pl), pl, nil, &key); failed > 0 {
			return strictly(o)
		}
	}
	if k, ok, kerr := cleanup.KeyFromEnv(string(pl), p.Lookup); st != nil && kerr == nil && ok && !slices.Contains(st.KeyIDs(), k.ID()) {
		// The post step got inject's key, and there is a state, but not its record: the file was
		// rewritten after inject, by a later step, which leaves what it minted live. (A state
		// file that is gone altogether is what a cleanup that already ran leaves too: that case
		// cannot be told apart here, and stays quiet.)
		p.platformWarn(pl, fmt.Sprintf("the key that inject handed to this post step is here, but its record is not in %s "+
			"(emptied or rewritten after inject: by a later step?); what it minted may stay live until it expires", path))
		return strictly(o)
	}
	if st.Len() == 0 {
		log.Debug("nothing to clean up", "state", path)
		if st != nil {
			return removeIfExists(path)
		}
		return nil
	}
	opener := cleanup.Opener{Platform: string(pl), Lookup: p.Lookup, TrustUnverified: co.TrustUnverified}
	opened, warnings, err := opener.Open(st, path)
	for _, w := range warnings {
		p.platformWarn(pl, w)
	}
	if err != nil {
		p.platformWarn(pl, err.Error())
		return strictly(o)
	}
	if len(opened) == 0 {
		log.Debug("nothing of this inject's left to clean up", "state", path, "records", st.Len())
		return nil
	}
	places := cleanup.Places{TempDirs: []string{env.RunnerTemp, env.AgentTemp, os.TempDir()}}
	total, failedCount := 0, 0
	var allFailed []cleanup.Action
	var allRevoked []string
	for _, rec := range opened {
		where := places
		where.Unverified = !rec.Verified
		for i := range rec.Record.Actions {
			rec.Record.Actions[i].Unsealed = !rec.Verified
		}
		failed, revoked := p.undoAll(ctx, o, pl, where, rec.Record.Actions)
		total += len(rec.Record.Actions)
		failedCount += len(failed)
		allFailed = append(allFailed, failed...)
		allRevoked = append(allRevoked, revoked...)
		switch {
		case len(failed) == 0:
			st.Remove(rec.KeyID)
			if pl == cienv.None {
				if dir, err := cleanup.LocalKeyDir(p.Lookup); err == nil {
					if err := cleanup.RemoveLocalKey(dir, rec.KeyID); err != nil {
						p.platformWarn(pl, fmt.Sprintf("removing the state key: %v", err))
					}
				}
			}
		case rec.Verified:
			next := rec.Record
			next.Actions = failed
			if err := st.Seal(rec.Key, next); err != nil {
				p.platformWarn(pl, err.Error())
			}
		}
	}
	p.cleanupSummary(pl, env, allRevoked, allFailed)
	if st.Len() > 0 {
		if err := cleanup.WriteState(path, st); err != nil {
			p.platformWarn(pl, err.Error())
		}
	} else if err := removeIfExists(path); err != nil {
		p.platformWarn(pl, fmt.Sprintf("removing the state file: %v", err))
	}
	log.Debug("cleaned up", "undone", total-failedCount, "failed", failedCount, "state", path)
	if failedCount > 0 {
		fmt.Fprintf(p.Stderr, "patinject: cleanup: %d of %d could not be undone (see the warnings above)\n", failedCount, total)
		return strictly(o)
	}
	return nil
}

// cleanupOrphans takes back what dead patinjects left in the journals: the CI platform's temp
// directory's and the user's.
func (p *Process) cleanupOrphans(ctx context.Context, o *Options, env cienv.Context, pl cienv.Platform) error {
	dirs := []string{p.journalDir(env, pl)}
	if d := p.journalDir(env, cienv.None); d != dirs[0] {
		dirs = append(dirs, d)
	}
	var undone, failed int
	for _, d := range dirs {
		u, f := p.sweepOrphans(ctx, o, d, pl, nil, nil)
		undone, failed = undone+u, failed+f
	}
	switch {
	case failed > 0:
		fmt.Fprintf(p.Stderr, "patinject: cleanup --orphans: %d taken back, %d could not be (see the warnings above)\n", undone, failed)
		return strictly(o)
	case undone == 0:
		fmt.Fprintf(p.Stderr, "patinject: cleanup --orphans: no journal holds anything left by a patinject that died (looked in %s)\n", strings.Join(dirs, ", "))
	default:
		fmt.Fprintf(p.Stderr, "patinject: cleanup --orphans: %d taken back\n", undone)
	}
	return nil
}

func strictly(o *Options) error {
	if o.Strict {
		return &ExitError{Code: ExitCleanup, Msg: "cleanup failed (--strict-cleanup)"}
	}
	return nil
}

// statePath is --state, else STATE_state in a GitHub post step, else the platform's default.
func (p *Process) statePath(flag string, pl cienv.Platform, env cienv.Context) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case env.PostState != "":
		return env.PostState, nil
	}
	return defaultStatePath(pl, env, p.Lookup)
}

// undoAll undoes the actions, last first, and returns those that failed and the lines that
// said what was revoked.
func (p *Process) undoAll(ctx context.Context, o *Options, pl cienv.Platform, places cleanup.Places, actions []cleanup.Action) (failed []cleanup.Action, revoked []string) {
	log := p.Logger(o.Debug)
	env := p.sourceEnv(o, nil, log)
	say := env.Progress
	env.Progress = func(msg string) {
		if strings.HasPrefix(msg, "revoked ") {
			revoked = append(revoked, msg)
		}
		say(msg)
	}
	undoers := p.sources().Undoers(env)
	// Files and directories are removed only when they are patinject's own, checked on disk.
	remove := func(_ context.Context, act cleanup.Action) error { return places.Remove(act) }
	undoers["dir"] = remove
	undoers["file"] = remove
	reg := &cleanup.Registry{}
	for _, act := range actions {
		undo, ok := undoers[act.Kind]
		if !ok {
			p.platformWarn(pl, fmt.Sprintf("cannot undo %s: this patinject does not know the kind %q; undo it by hand%s", act, act.Kind, manualHint(act)))
			failed = append(failed, act)
			continue
		}
		reg.Add(act, func(ctx context.Context) error { return undo(ctx, act) })
	}
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	runErr := reg.Run(ctx, func(act cleanup.Action) {
		log.Debug("already expired, nothing to undo", "what", act.String())
	})
	for _, e := range unjoin(runErr) {
		var f *cleanup.Failure
		var la *cleanup.LeftAlone
		if errors.As(e, &f) && errors.As(f.Err, &la) {
			// An unverified record's word the service does not back: nothing of patinject's to
			// undo, nothing to retry, and no "undo it by hand" for what may be the user's own.
			p.platformWarn(pl, leftAloneWarning("an unverified state record", la))
			continue
		}
		p.platformWarn(pl, e.Error())
		if f != nil {
			failed = append(failed, f.Action)
		}
	}
	return failed, revoked
}

// leftAloneWarning says that what an unsealed record (in what) named was left alone.
func leftAloneWarning(what string, la *cleanup.LeftAlone) string {
	return fmt.Sprintf("%s names what the service does not confirm is patinject's (written by another process: a later build step?): %v", what, la)
}

// cleanupSummary adds what was revoked, and what was not, to the step summary of GitHub Actions
// or Azure Pipelines: ids and names, never a value.
func (p *Process) cleanupSummary(pl cienv.Platform, env cienv.Context, revoked []string, failed []cleanup.Action) {
	if len(revoked)+len(failed) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\n### patinject cleanup\n\n| | what |\n|---|---|\n")
	cell := strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ")
	for _, r := range revoked {
		fmt.Fprintf(&b, "| revoked | %s |\n", cell.Replace(OneLine(strings.TrimPrefix(r, "revoked "))))
	}
	for _, f := range failed {
		fmt.Fprintf(&b, "| **not undone** | %s%s |\n", cell.Replace(OneLine(f.String())), cell.Replace(OneLine(manualHint(f))))
	}
	var err error
	switch {
	case pl == cienv.GitHub && env.GitHubSummary != "":
		err = appendFile(env.GitHubSummary, b.String())
	case pl == cienv.Azure && env.AgentTemp != "":
		// In a private directory of its own, created exclusively, never through a planted link;
		// the agent uploads it after this step and empties its temp directory after the job.
		var pd *privdir.Dir
		if pd, err = privdir.New(env.AgentTemp); err == nil {
			var path string
			if path, err = pd.WriteFile("cleanup-summary.md", []byte(b.String())); err == nil {
				fmt.Fprintln(p.Stdout, inject.AzureCommand("task.uploadsummary", nil, path))
			}
		}
	}
	if err != nil {
		p.Warnf("writing the step summary: %v", err)
	}
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func manualHint(act cleanup.Action) string {
	if act.Manual != "" {
		return ": " + act.Manual
	}
	return ""
}

// platformWarn reports a warning where people look for it: an annotation on GitHub Actions and
// Azure Pipelines, a plain line elsewhere. The text goes out escaped, so that a server's words in
// it cannot become commands.
func (p *Process) platformWarn(pl cienv.Platform, msg string) {
	msg = p.Line(msg)
	switch pl {
	case cienv.GitHub:
		fmt.Fprintln(p.Stdout, inject.GitHubCommand("warning", [][2]string{{"title", "patinject cleanup"}}, msg))
	case cienv.Azure:
		fmt.Fprintln(p.Stdout, inject.AzureCommand("task.logissue", [][2]string{{"type", "warning"}}, "patinject: "+msg))
	default:
		p.Warnf("%s", msg)
	}
}
