package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
)

func (a *app) cleanupCommand() *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "CI post step: revoke what inject minted and remove what it wrote; idempotent, quiet when there is nothing to do",
		Description: "Reads the state file that inject wrote (--state, else STATE_state in a GitHub post step, else " +
			"patinject-state.json in the platform's temp directory). A revocation that fails is reported as a " +
			"warning with the command that undoes it by hand; the step still succeeds unless --strict-cleanup.",
		Flags: append(sourceFlags(), withCategory("CI",
			strDefault("platform", "auto", "how to report warnings: auto, github, azure, gitlab or local"),
			str("state", "the state `FILE` that inject wrote"),
		)...),
		Action: a.cleanup,
	}
}

func (a *app) cleanup(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return fmt.Errorf("cleanup takes no arguments")
	}
	o := optionsFrom(c)
	log := a.logger(o.Debug)
	env, err := cienv.Load(c.Context, a.envLookuper())
	if err != nil {
		return err
	}
	p := cienv.Platform(c.String("platform"))
	if p == "" || p == "auto" {
		p = env.Detect()
	}
	path := c.String("state")
	if path == "" {
		path = env.PostState
	}
	if path == "" {
		if path, err = defaultStatePath(p, env, a.lookup); err != nil {
			return err
		}
	}
	st, err := readState(path)
	if err != nil {
		// Like a failed revocation: reported where people look, fatal only when asked.
		a.platformWarn(p, err.Error())
		if o.Strict {
			return &exitError{code: ExitCleanup, msg: "cleanup failed (--strict-cleanup)"}
		}
		return nil
	}
	if st == nil || len(st.Actions) == 0 {
		log.Debug("nothing to clean up", "state", path)
		if st != nil {
			return removeIfExists(path)
		}
		return nil
	}

	undoers := a.undoers(&o, log)
	reg := &cleanup.Registry{}
	var failed []cleanup.Action
	for _, act := range st.Actions {
		undo, ok := undoers[act.Kind]
		if !ok {
			a.platformWarn(p, fmt.Sprintf("cannot undo %s: this patinject does not know the kind %q; undo it by hand%s", act, act.Kind, manualHint(act)))
			failed = append(failed, act)
			continue
		}
		reg.Add(act, func(ctx context.Context) error { return undo(ctx, act) })
	}
	ctx, cancel := context.WithTimeout(c.Context, cleanupTimeout)
	defer cancel()
	runErr := reg.Run(ctx, func(act cleanup.Action) {
		log.Debug("already expired, nothing to undo", "what", act.String())
	})
	for _, e := range unjoin(runErr) {
		if e == nil {
			continue
		}
		a.platformWarn(p, e.Error())
		var f *cleanup.Failure
		if errors.As(e, &f) {
			failed = append(failed, f.Action)
		}
	}
	if len(failed) > 0 {
		// What could not be undone stays recorded, so that running cleanup again retries it.
		if err := writeState(path, &state{Platform: st.Platform, Actions: failed}); err != nil {
			a.platformWarn(p, err.Error())
		}
	} else if err := removeIfExists(path); err != nil {
		a.platformWarn(p, fmt.Sprintf("removing the state file: %v", err))
	}
	undone := len(st.Actions) - len(failed)
	log.Debug("cleaned up", "undone", undone, "failed", len(failed), "state", path)
	if len(failed) > 0 {
		fmt.Fprintf(a.stderr, "patinject: cleanup: %d of %d could not be undone (see the warnings above)\n", len(failed), len(st.Actions))
		if o.Strict {
			return &exitError{code: ExitCleanup, msg: "cleanup failed (--strict-cleanup)"}
		}
	}
	return nil
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
func (a *app) platformWarn(p cienv.Platform, msg string) {
	msg = oneLine(msg)
	switch p {
	case cienv.GitHub:
		fmt.Fprintln(a.stdout, inject.GitHubCommand("warning", [][2]string{{"title", "patinject cleanup"}}, msg))
	case cienv.Azure:
		fmt.Fprintln(a.stdout, inject.AzureCommand("task.logissue", [][2]string{{"type", "warning"}}, "patinject: "+msg))
	default:
		a.warnf("%s", msg)
	}
}
