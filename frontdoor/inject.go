package frontdoor

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
	"github.com/patinject/patinject/runner"
)

// InjectOptions are what `inject` takes besides Options.
type InjectOptions struct {
	Platform string   // auto, github, azure, gitlab or local
	State    string   // the state file; "" for the platform's default
	Dotenv   string   // --platform local: the new dotenv file
	AsFile   []string // variables handed over as the path of a file holding the value
}

// target is where one `inject` hands things over, checked before anything is resolved.
type target struct {
	platform  cienv.Platform
	env       cienv.Context
	tempBase  string // where the private directory is made
	statePath string
	dotenv    string
	asFile    []string
	summary   string      // Azure: the summary file attached to the run
	key       cleanup.Key // seals this inject's record in the state; handed to its own cleanup
	keyHanded bool        // the key went to the post step (handKey)
	dotenvSum string      // the SHA-256 of the dotenv file written, for cleanup to check
	record    cleanup.Record
}

// Inject resolves the secrets and hands them to the later steps of the CI job, recording what
// `cleanup` must undo. Until the handover is complete, every failure takes back all that was
// minted or written.
func (p *Process) Inject(ctx context.Context, o *Options, io InjectOptions) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	t, err := p.target(ctx, io)
	if err != nil {
		return err
	}
	// A state left by an earlier inject of this job is read before anything is minted: one that
	// cannot be read stops here, with nothing to take back.
	prev, err := cleanup.ReadState(t.statePath)
	if err != nil {
		return err
	}
	if t.key, err = cleanup.NewKey(); err != nil {
		return err
	}
	// Every signal whose default would end patinject before its rollback (HUP from a closed
	// terminal, ABRT, ...) cancels instead; SIGPIPE is an error everywhere (cmd.Main).
	ctx, stop := signal.NotifyContext(ctx, runner.Forwarded...)
	defer stop()

	s := p.newSession(ctx, o, &cleanup.Registry{})
	u := &undo{}
	defer func() { err = s.rollback(err, u) }()

	// The key seals the journal too, and goes to this inject's post step before anything is
	// minted (before the journal's first line): if this process dies mid-way, the post step
	// finds what it minted in lines no later step could have written.
	if t.hasKeyChannel() {
		s.journal.Seal(t.key, func() error { return p.handKey(t, nil) })
	}

	dir, err := s.prepare(t)
	if err != nil {
		return err
	}
	r, err := s.resolve(ctx)
	if ctx.Err() != nil {
		// Also when every source answered anyway: a signal came, nothing is handed on.
		return fmt.Errorf("interrupted while resolving secrets")
	}
	if err != nil {
		return err
	}
	if err := s.record(t, prev, u); err != nil {
		return err
	}
	h, err := s.plan(t, r, dir)
	if err != nil {
		return err
	}
	if err := p.emit(t, h, u); err != nil {
		return err
	}
	if t.dotenvSum != "" {
		// The dotenv file is at a path the user chose: cleanup removes it only if it is still
		// what was written.
		for i := range t.record.Actions {
			if act := &t.record.Actions[i]; act.Kind == "file" && act.ID == t.dotenv {
				act.Params = map[string]string{cleanup.ParamSHA256: t.dotenvSum}
			}
		}
		if err := s.saveState(t, prev); err != nil {
			return err
		}
	}
	u.done = true
	// The state file now records all of it, for the post step: the journal's part is done.
	s.journal.HandOver()
	s.journalErr()
	s.report(t, h)
	return nil
}

// undo is what a failed inject puts back as it was, last first.
type undo struct {
	writes []func()
	done   bool
}

func (u *undo) add(f func()) { u.writes = append(u.writes, f) }

// rollback takes back everything when the handover did not complete.
func (s *session) rollback(err error, u *undo) error {
	if u.done {
		return err
	}
	for i := len(u.writes) - 1; i >= 0; i-- {
		u.writes[i]()
	}
	derr := s.drain()
	switch {
	case err == nil:
		return nil
	case derr != nil:
		return fmt.Errorf("%w; nothing was handed on, but not all that was minted could be taken back (see the warnings above)", err)
	default:
		return fmt.Errorf("%w; nothing was handed on, and what was minted or written is taken back", err)
	}
}

// prepare makes the private directory and registers the removal of every file inject writes.
func (s *session) prepare(t *target) (string, error) {
	pd, err := privdir.New(t.tempBase)
	if err != nil {
		return "", err
	}
	dir := pd.Path()
	s.reg.Add(cleanup.Action{Kind: "dir", ID: dir}, func(context.Context) error { return pd.Remove() })
	if t.platform == cienv.Azure && t.tempBase != "" {
		// In the private directory, created exclusively (privdir.WriteNew), for the agent to
		// upload (it runs as the same user); cleanup removes it.
		t.summary = filepath.Join(dir, "summary.md")
		s.reg.Add(cleanup.Action{Kind: "file", ID: t.summary, Label: "summary"}, func(context.Context) error { return removeIfExists(t.summary) })
	}
	if t.dotenv != "" {
		s.reg.Add(cleanup.Action{Kind: "file", ID: t.dotenv, Label: "--dotenv"}, func(context.Context) error { return removeIfExists(t.dotenv) })
	}
	return dir, nil
}

// record writes what to undo as soon as all of it exists (what is written from here on goes
// into the private directory, already in the record), before anything points at it. This
// inject's record is sealed with its own key (cleanup/state.go); the records of earlier injects
// stay as they are, for the cleanups that hold their keys.
func (s *session) record(t *target, prev *cleanup.State, u *undo) error {
	t.record = cleanup.Record{Platform: string(t.platform), Created: time.Now().UTC(), Actions: s.reg.Actions()}
	if err := s.saveState(t, prev); err != nil {
		return err
	}
	u.add(func() {
		if prev != nil {
			if werr := cleanup.WriteState(t.statePath, prev); werr != nil {
				s.p.Warnf("restoring the state file: %v", werr)
			}
			return
		}
		os.Remove(t.statePath)
	})
	if t.platform == cienv.None {
		// Locally the key lives in a 0600 file in the user's state directory.
		keyDir, err := cleanup.LocalKeyDir(s.p.Lookup)
		if err != nil {
			return err
		}
		keyPath, err := cleanup.WriteLocalKey(keyDir, t.key)
		if err != nil {
			return err
		}
		u.add(func() { os.Remove(keyPath) })
	}
	return nil
}

// saveState writes the earlier records and this inject's, sealed.
func (s *session) saveState(t *target, prev *cleanup.State) error {
	st := prev.Clone()
	if err := st.Seal(t.key, t.record); err != nil {
		return err
	}
	return cleanup.WriteState(t.statePath, st)
}

// plan builds the tools' plan, writes its files and turns it into the handover.
func (s *session) plan(t *target, r resolved, dir string) (inject.Handover, error) {
	cfg := s.o.toolConfig(r.token, dir, s.p.Lookup, inject.ModeCI)
	s.tokenKind(&cfg, r)
	if ref, git, nuget := s.refreshes(r); git || nuget {
		// A later step's helpers get a fresh token from the same CI identity, reached as
		// inject reached it.
		args := injectRefreshArgs(ref, dir)
		if err := writeRefreshEnv(args[3], s.p.Lookup); err != nil {
			return inject.Handover{}, fmt.Errorf("writing %s: %w", args[3], err)
		}
		setRefresh(&cfg, args, git, nuget)
	}
	plan, err := inject.Build(cfg)
	if err != nil {
		return inject.Handover{}, err
	}
	if err := writeFiles(plan.Files); err != nil {
		return inject.Handover{}, err
	}
	h, err := s.handover(t, r, plan, dir)
	if err != nil {
		return h, err
	}
	h.Outputs = append(h.Outputs, inject.Output{Name: "state", Value: t.statePath})
	return h, nil
}

// report says in the log what was handed on.
func (s *session) report(t *target, h inject.Handover) {
	for _, r := range h.Summary {
		s.log.Debug("handed on", "what", r.What, "how", r.How, "detail", r.Detail)
	}
	fmt.Fprintf(s.p.Stderr, "patinject: %s\n", s.p.Line(fmt.Sprintf("handed on %s; cleanup state in %s", countOf(len(h.Vars), "variable"), t.statePath)))
	if t.platform != cienv.Azure {
		return
	}
	for _, v := range h.Vars {
		if v.Secret {
			fmt.Fprintf(s.p.Stderr, "patinject: %s is a secret variable: a script step sees it only when mapped (env: %s: $(%s))\n", v.Name, v.Name, v.Name)
		}
	}
}

// ciContext reads the CI platform's context from the process's environment.
func (p *Process) ciContext(ctx context.Context) (cienv.Context, error) {
	return cienv.Load(ctx, envconfig.LookuperFunc(p.Lookup))
}

// ChoosePlatform resolves --platform, refusing the platforms where `inject` would have to print
// secrets that nothing masks.
func ChoosePlatform(flag string, env cienv.Context) (cienv.Platform, error) {
	p := cienv.Platform(flag)
	if flag == "" || flag == "auto" {
		p = env.Detect()
		if p == cienv.None {
			return "", fmt.Errorf("inject: no CI platform detected (GITHUB_ACTIONS=true, TF_BUILD=True or GITLAB_CI=true): " +
				"outside CI, wrap the command instead (patinject run [flags] -- CMD), or write a dotenv file with --platform local --dotenv FILE")
		}
	}
	switch p {
	case cienv.GitHub, cienv.Azure, cienv.None:
		return p, nil
	case cienv.GitLab:
		return "", fmt.Errorf("inject: GitLab CI has no way to mask a value obtained during a job, so handing secrets to later " +
			"commands would print them unmasked; wrap the job's commands instead: patinject run [flags] -- ./build.sh " +
			"(tasks/gitlab/patinject.gitlab-ci.yml has a template)")
	}
	return "", fmt.Errorf("--platform %s: unknown platform (want auto, github, azure, gitlab or local)", flag)
}

// target checks where the handover goes.
func (p *Process) target(ctx context.Context, io InjectOptions) (*target, error) {
	env, err := p.ciContext(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := ChoosePlatform(io.Platform, env)
	if err != nil {
		return nil, err
	}
	t := &target{platform: pl, env: env, statePath: io.State, dotenv: io.Dotenv, asFile: io.AsFile}
	for _, n := range t.asFile {
		if err := inject.CheckEnvName("--as-file", n); err != nil {
			return nil, err
		}
	}
	if err := t.checkPlatform(); err != nil {
		return nil, err
	}
	if t.statePath == "" {
		if t.statePath, err = defaultStatePath(pl, env, p.Lookup); err != nil {
			return nil, err
		}
	}
	if t.statePath, err = filepath.Abs(t.statePath); err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	return t, nil
}

// checkPlatform checks what the platform needs, and finds its per-job temp directory.
func (t *target) checkPlatform() error {
	switch t.platform {
	case cienv.GitHub:
		if t.env.GitHubEnv == "" {
			return fmt.Errorf("inject --platform github: GITHUB_ENV is not set; run this as a step of a GitHub Actions job")
		}
	case cienv.None:
		if t.dotenv == "" {
			return fmt.Errorf("inject --platform local needs --dotenv FILE: the new dotenv file the variables are written to")
		}
		if _, err := os.Lstat(t.dotenv); err == nil {
			return fmt.Errorf("--dotenv %s: the file exists; patinject writes a new file (and cleanup removes it): choose a path that does not exist", t.dotenv)
		}
		abs, err := filepath.Abs(t.dotenv)
		if err != nil {
			return fmt.Errorf("--dotenv %s: %w", t.dotenv, err)
		}
		t.dotenv = abs
	}
	if t.platform != cienv.None && t.dotenv != "" {
		return fmt.Errorf("--dotenv is for --platform local; on %s the variables go to the platform", t.platform)
	}
	t.tempBase = t.env.TempDirOf(t.platform)
	return nil
}
