package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/secret"
)

// injectOnlyFlags are the flags `inject` has besides those it shares with `run`.
func injectOnlyFlags() []cli.Flag {
	return withCategory("CI",
		strDefault("platform", "auto", "CI platform to hand the secrets to: auto, github, azure, gitlab or local"),
		str("state", "state `FILE` recording what cleanup must undo (default: patinject-state.json in the platform's temp directory)"),
		str("dotenv", "--platform local: write the variables to this new dotenv `FILE` (0600); cleanup removes it"),
		list("as-file", "hand variable `NAME` over as the path of a 0600 file holding its value (for multi-line values)"),
	)
}

func (a *app) injectCommand() *cli.Command {
	return &cli.Command{
		Name:  "inject",
		Usage: "CI step: resolve the secrets, hand them to the later steps of the job through the CI platform, and record what cleanup must undo",
		Description: "Masks every value and derived form first, then sets the variables (GitHub Actions: GITHUB_ENV; " +
			"Azure Pipelines: task.setvariable, issecret for secrets) and writes tool configuration under the " +
			"platform's temp directory. GitLab CI has no way to mask a value found during a job: use patinject run there.",
		Flags:  append(injectFlags(), injectOnlyFlags()...),
		Action: a.inject,
	}
}

// envLookuper adapts the app's lookup to go-envconfig.
func (a *app) envLookuper() envconfig.Lookuper {
	return envconfig.LookuperFunc(func(k string) (string, bool) { return a.lookup(k) })
}

// choosePlatform resolves --platform, refusing the platforms where `inject` would have to print
// secrets that nothing masks.
func choosePlatform(flag string, env cienv.Context) (cienv.Platform, error) {
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

// injectTarget is where one `inject` hands things over, checked before anything is resolved.
type injectTarget struct {
	platform  cienv.Platform
	env       cienv.Context
	tempBase  string // where the private directory is made
	statePath string
	dotenv    string
	asFile    []string
	summary   string // Azure: the summary file attached to the run
}

func (a *app) injectTarget(c *cli.Context) (*injectTarget, error) {
	if c.Args().Len() > 0 {
		return nil, fmt.Errorf("inject takes no arguments (to run a command with the secrets, use patinject run [flags] -- CMD)")
	}
	env, err := cienv.Load(c.Context, a.envLookuper())
	if err != nil {
		return nil, err
	}
	p, err := choosePlatform(c.String("platform"), env)
	if err != nil {
		return nil, err
	}
	t := &injectTarget{platform: p, env: env, statePath: c.String("state"), dotenv: c.String("dotenv"), asFile: c.StringSlice("as-file")}
	for _, n := range t.asFile {
		if !envName.MatchString(n) {
			return nil, fmt.Errorf("--as-file %q: not a valid environment variable name", n)
		}
	}
	switch p {
	case cienv.GitHub:
		if env.GitHubEnv == "" {
			return nil, fmt.Errorf("inject --platform github: GITHUB_ENV is not set; run this as a step of a GitHub Actions job")
		}
		t.tempBase = env.RunnerTemp
	case cienv.Azure:
		t.tempBase = env.AgentTemp
	case cienv.None:
		if t.dotenv == "" {
			return nil, fmt.Errorf("inject --platform local needs --dotenv FILE: the new dotenv file the variables are written to")
		}
		if _, err := os.Lstat(t.dotenv); err == nil {
			return nil, fmt.Errorf("--dotenv %s: the file exists; patinject writes a new file (and cleanup removes it): choose a path that does not exist", t.dotenv)
		}
		abs, err := filepath.Abs(t.dotenv)
		if err != nil {
			return nil, fmt.Errorf("--dotenv %s: %w", t.dotenv, err)
		}
		t.dotenv = abs
	}
	if p != cienv.None && t.dotenv != "" {
		return nil, fmt.Errorf("--dotenv is for --platform local; on %s the variables go to the platform", p)
	}
	if t.statePath == "" {
		if t.statePath, err = defaultStatePath(p, env, a.lookup); err != nil {
			return nil, err
		}
	}
	if t.statePath, err = filepath.Abs(t.statePath); err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	return t, nil
}

func (a *app) inject(c *cli.Context) (err error) {
	o := optionsFrom(c)
	if err := o.validate(); err != nil {
		return err
	}
	t, err := a.injectTarget(c)
	if err != nil {
		return err
	}
	log := a.logger(o.Debug)
	// A state left by an earlier inject of this job is read before anything is minted: one that
	// cannot be read stops here, with nothing to take back.
	prev, err := readState(t.statePath)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Until the handover is complete, every failure takes back all that was minted or written.
	reg := &cleanup.Registry{}
	var undoWrites []func()
	done := false
	defer func() {
		if done {
			return
		}
		for i := len(undoWrites) - 1; i >= 0; i-- {
			undoWrites[i]()
		}
		derr := a.drain(reg, log)
		switch {
		case err == nil:
		case derr != nil:
			err = fmt.Errorf("%w; nothing was handed on, but not all that was minted could be taken back (see the warnings above)", err)
		default:
			err = fmt.Errorf("%w; nothing was handed on, and what was minted or written is taken back", err)
		}
	}()

	dir, err := privateDirIn(t.tempBase)
	if err != nil {
		return err
	}
	reg.Add(cleanup.Action{Kind: "dir", ID: dir}, func(context.Context) error { return os.RemoveAll(dir) })
	if t.platform == cienv.Azure && t.tempBase != "" {
		// Beside the private directory, not in it, for the agent to upload; cleanup removes it.
		t.summary = dir + "-summary.md"
		reg.Add(cleanup.Action{Kind: "file", ID: t.summary, Label: "summary"}, func(context.Context) error { return removeIfExists(t.summary) })
	}
	if t.dotenv != "" {
		reg.Add(cleanup.Action{Kind: "file", ID: t.dotenv, Label: "--dotenv"}, func(context.Context) error { return removeIfExists(t.dotenv) })
	}

	resolver := a.resolver(&o, reg, log)
	reqs, err := o.requests(resolver.Known)
	if err != nil {
		return err
	}
	secrets, err := resolver.Resolve(ctx, reqs)
	if err != nil {
		if ctx.Err() != nil && c.Context.Err() == nil {
			return fmt.Errorf("interrupted while resolving secrets")
		}
		return err
	}
	// The record of what to undo is written as soon as all of it exists (what is written from
	// here on goes into the private directory, already in the record), before anything points
	// at it.
	st := &state{Platform: string(t.platform)}
	if prev != nil {
		st.Actions = prev.Actions
	}
	st.Actions = append(st.Actions, reg.Actions()...)
	if err := writeState(t.statePath, st); err != nil {
		return err
	}
	undoWrites = append(undoWrites, func() {
		if prev != nil {
			if werr := writeState(t.statePath, prev); werr != nil {
				a.warnf("restoring the state file: %v", werr)
			}
			return
		}
		os.Remove(t.statePath)
	})

	if err := checkLengths(secrets); err != nil {
		return err
	}
	cfg := injectConfig(&o, secrets, dir, a.lookup, inject.ModeCI)
	plan, err := inject.Build(cfg)
	if err != nil {
		return err
	}
	if err := writeFiles(plan.Files); err != nil {
		return err
	}
	h, err := a.handover(&o, t, secrets, plan, reg, dir)
	if err != nil {
		return err
	}
	h.Outputs = append(h.Outputs, inject.Output{Name: "state", Value: t.statePath})

	if err := a.emit(t, h, &undoWrites); err != nil {
		return err
	}
	done = true
	for _, r := range h.Summary {
		log.Debug("handed on", "what", r.What, "how", r.How, "detail", r.Detail)
	}
	fmt.Fprintf(a.stderr, "patinject: handed on %s; cleanup state in %s\n", countOf(len(h.Vars), "variable"), t.statePath)
	if t.platform == cienv.Azure {
		for _, v := range h.Vars {
			if v.Secret {
				fmt.Fprintf(a.stderr, "patinject: %s is a secret variable: a script step sees it only when mapped (env: %s: $(%s))\n", v.Name, v.Name, v.Name)
			}
		}
	}
	return nil
}

func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// handover turns the resolved secrets and the plan into what the platform emitter hands on.
func (a *app) handover(o *Options, t *injectTarget, secrets []secret.Secret, plan inject.Plan, reg *cleanup.Registry, dir string) (inject.Handover, error) {
	var h inject.Handover
	for _, p := range patterns(secrets, plan, o.Username) {
		h.Masks = append(h.Masks, string(p))
	}
	var expiry time.Time
	earliest := func(e time.Time) {
		if !e.IsZero() && (expiry.IsZero() || e.Before(expiry)) {
			expiry = e
		}
	}
	for _, s := range secrets {
		earliest(s.Expiry)
		if s.Name == tokenName {
			h.Summary = append(h.Summary, inject.SummaryRow{What: "--token", How: "credential for the tools below", Detail: s.Origin, Expiry: s.Expiry})
			continue
		}
		how := "secret variable"
		if s.Public {
			how = "variable (not secret)"
		}
		h.Vars = append(h.Vars, inject.Var{Name: s.Name, Value: s.Value, Secret: !s.Public})
		h.Summary = append(h.Summary, inject.SummaryRow{What: s.Name, How: how, Detail: s.Origin, Expiry: s.Expiry})
	}
	for _, e := range plan.Env {
		v := e.Value
		if e.Append != "" {
			if old, ok := a.lookup(e.Name); ok && old != "" {
				v = secret.NewValue(old + e.Append + e.Value.Reveal())
			}
		}
		h.Vars = append(h.Vars, inject.Var{Name: e.Name, Value: v, Secret: e.Secret})
	}
	for _, row := range toolRows(o) {
		h.Summary = append(h.Summary, row)
	}
	// A later variable of the same name wins, as it would in the environment.
	h.Vars = lastByName(h.Vars)

	asFile := map[string]bool{}
	for _, n := range t.asFile {
		asFile[n] = true
	}
	for i, v := range h.Vars {
		if !asFile[v.Name] {
			continue
		}
		delete(asFile, v.Name)
		path := filepath.Join(dir, "var-"+v.Name)
		if err := writeFile(path, []byte(v.Value.Reveal())); err != nil {
			return h, fmt.Errorf("--as-file %s: writing %s: %w", v.Name, path, err)
		}
		h.Vars[i] = inject.Var{Name: v.Name, Value: secret.NewValue(path), Secret: false}
		for j := range h.Summary {
			if h.Summary[j].What == v.Name {
				h.Summary[j].How = "file (the variable holds its path)"
			}
		}
	}
	if len(asFile) > 0 {
		var left []string
		for n := range asFile {
			left = append(left, n)
		}
		sort.Strings(left)
		return h, fmt.Errorf("--as-file %s: no variable of that name is handed on", strings.Join(left, ", "))
	}

	var ids []string
	for _, act := range reg.Actions() {
		earliest(act.Expiry)
		if act.Kind == "dir" || act.Kind == "file" {
			continue
		}
		what := act.Label
		if what == "" {
			what = act.ID
		}
		detail := act.ID
		if sc := act.Params["scope"]; sc != "" {
			detail = "scope " + sc + ", id " + act.ID
		}
		h.Summary = append(h.Summary, inject.SummaryRow{What: what, How: act.Kind + ", undone by cleanup", Detail: detail, Expiry: act.Expiry})
		if act.Kind == "ado-pat" {
			ids = append(ids, act.ID)
		}
	}
	if !expiry.IsZero() {
		h.Outputs = append(h.Outputs, inject.Output{Name: "expiry", Value: expiry.UTC().Format(time.RFC3339)})
	}
	if len(ids) > 0 {
		h.Outputs = append(h.Outputs, inject.Output{Name: "authorization-id", Value: strings.Join(ids, ",")})
	}
	return h, nil
}

// toolRows describe where the --token goes, for the summary.
func toolRows(o *Options) []inject.SummaryRow {
	var rows []inject.SummaryRow
	add := func(how string, items []string) {
		for _, it := range items {
			rows = append(rows, inject.SummaryRow{What: "--token", How: how, Detail: it})
		}
	}
	add("git credentials for", o.Git)
	add("NuGet source", o.NuGet)
	add("npm registry", o.Npm)
	add("netrc entry for", o.Netrc)
	add("variable (the token)", o.TokenEnv)
	return rows
}

func lastByName(vars []inject.Var) []inject.Var {
	last := map[string]int{}
	for i, v := range vars {
		last[v.Name] = i
	}
	out := vars[:0:0]
	for i, v := range vars {
		if last[v.Name] == i {
			out = append(out, v)
		}
	}
	return out
}

// emit hands h to the platform. Every file it appends to is cut back to its old length by the
// undo it registers, so that a failure leaves no half-written handover behind.
func (a *app) emit(t *injectTarget, h inject.Handover, undo *[]func()) error {
	switch t.platform {
	case cienv.GitHub:
		files := map[string]io.Writer{}
		for _, path := range []string{t.env.GitHubEnv, t.env.GitHubOutput, t.env.GitHubSummary, t.env.GitHubState} {
			if path == "" {
				continue
			}
			f, restore, err := openAppend(path)
			if err != nil {
				return err
			}
			defer f.Close()
			*undo = append(*undo, restore)
			files[path] = f
		}
		g := inject.GitHub{Stdout: a.stdout, Title: "patinject", Env: files[t.env.GitHubEnv]}
		if t.env.GitHubOutput != "" {
			g.Output = files[t.env.GitHubOutput]
		}
		if t.env.GitHubSummary != "" {
			g.Summary = files[t.env.GitHubSummary]
		}
		if err := g.Emit(h); err != nil {
			return err
		}
		if t.env.GitHubState != "" {
			// The post step of this action finds the state as STATE_state.
			entry, err := inject.GitHubFileEntry("state", t.statePath, nil)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(files[t.env.GitHubState], entry); err != nil {
				return fmt.Errorf("writing GITHUB_STATE: %w", err)
			}
		}
		return nil
	case cienv.Azure:
		h.Vars = append(h.Vars, inject.Var{Name: "PATINJECT_STATE", Value: secret.NewValue(t.statePath)})
		az := inject.Azure{Stdout: a.stdout, PercentsNotDecoded: strings.EqualFold(t.env.DecodePercents, "false")}
		if t.summary != "" {
			az.SummaryFile = t.summary
			*undo = append(*undo, func() { os.Remove(t.summary) })
		}
		return az.Emit(h)
	case cienv.None:
		b, err := inject.Dotenv(h.Vars)
		if err != nil {
			return err
		}
		if err := writeFile(t.dotenv, b); err != nil {
			return fmt.Errorf("--dotenv %s: %w", t.dotenv, err)
		}
		*undo = append(*undo, func() { os.Remove(t.dotenv) })
		return nil
	}
	return fmt.Errorf("inject: no emitter for platform %s", t.platform)
}

// openAppend opens path for appending and returns how to put it back as it was: cut back to
// its present length, or removed if it did not exist (the runner makes these files; a user
// trying --platform github by hand may not have).
func openAppend(path string) (*os.File, func(), error) {
	_, statErr := os.Lstat(path)
	existed := statErr == nil
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("opening %s: %w", path, err)
	}
	size := fi.Size()
	if !existed {
		return f, func() { os.Remove(path) }, nil
	}
	return f, func() { os.Truncate(path, size) }, nil
}
