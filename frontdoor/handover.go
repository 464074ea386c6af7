package frontdoor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
	"github.com/patinject/patinject/secret"
)

// handover turns the resolved secrets and the plan into what the platform emitter hands on.
func (s *session) handover(t *target, r resolved, plan inject.Plan, dir string) (inject.Handover, error) {
	var h inject.Handover
	for _, pat := range s.patterns(r, plan) {
		h.Masks = append(h.Masks, string(pat))
	}
	if r.token != nil {
		h.Summary = append(h.Summary, inject.SummaryRow{What: "--token", How: "credential for the tools below", Detail: r.token.Origin, Expiry: r.token.Expiry})
	}
	for _, sec := range r.secrets {
		how := "secret variable"
		if sec.Public {
			how = "variable (not secret)"
		}
		h.Vars = append(h.Vars, inject.Var{Name: sec.Name, Value: sec.Value, Secret: !sec.Public})
		h.Summary = append(h.Summary, inject.SummaryRow{What: sec.Name, How: how, Detail: sec.Origin, Expiry: sec.Expiry})
	}
	for _, e := range plan.Env {
		v := e.Value
		if e.Append != "" {
			if old, ok := s.p.Lookup(e.Name); ok && old != "" {
				v = secret.NewValue(old + e.Append + e.Value.Reveal())
			}
		}
		h.Vars = append(h.Vars, inject.Var{Name: e.Name, Value: v, Secret: e.Secret})
	}
	h.Path = plan.Path
	h.Summary = append(h.Summary, toolRows(s.o)...)
	// A later variable of the same name wins, as it would in the environment.
	h.Vars = lastByName(h.Vars)
	if err := asFiles(&h, t.asFile, dir); err != nil {
		return h, err
	}
	s.undoRows(&h, r)
	return h, nil
}

// toolRows describe where the --token goes, for the summary.
func toolRows(o *Options) []inject.SummaryRow {
	var rows []inject.SummaryRow
	for _, t := range inject.Tools() {
		if t.Switch {
			continue
		}
		for _, v := range o.Tools[t.Flag] {
			rows = append(rows, inject.SummaryRow{What: "--token", How: t.Summary, Detail: v})
		}
	}
	return rows
}

// asFiles hands the variables named over as the paths of 0600 files holding their values.
func asFiles(h *inject.Handover, names []string, dir string) error {
	asFile := map[string]bool{}
	for _, n := range names {
		asFile[n] = true
	}
	for i, v := range h.Vars {
		if !asFile[v.Name] {
			continue
		}
		delete(asFile, v.Name)
		path := filepath.Join(dir, "var-"+v.Name)
		if err := privdir.WriteNew(path, []byte(v.Value.Reveal())); err != nil {
			return fmt.Errorf("--as-file %s: writing %s: %w", v.Name, path, err)
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
		return fmt.Errorf("--as-file %s: no variable of that name is handed on", strings.Join(left, ", "))
	}
	return nil
}

// undoRows add to the summary what cleanup will undo, and the outputs that name it.
func (s *session) undoRows(h *inject.Handover, r resolved) {
	var expiry time.Time
	earliest := func(e time.Time) {
		if !e.IsZero() && (expiry.IsZero() || e.Before(expiry)) {
			expiry = e
		}
	}
	if r.token != nil {
		earliest(r.token.Expiry)
	}
	for _, sec := range r.secrets {
		earliest(sec.Expiry)
	}
	var ids []string
	for _, act := range s.reg.Actions() {
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
func (p *Process) emit(t *target, h inject.Handover, u *undo) error {
	switch t.platform {
	case cienv.GitHub:
		return p.emitGitHub(t, h, u)
	case cienv.Azure:
		h.Vars = append(h.Vars, inject.Var{Name: "PATINJECT_STATE", Value: secret.NewValue(t.statePath)})
		az := inject.Azure{Stdout: p.Stdout, PercentsNotDecoded: strings.EqualFold(t.env.DecodePercents, "false")}
		if t.summary != "" {
			az.SummaryFile = t.summary
			u.add(func() { os.Remove(t.summary) })
		}
		if err := az.Emit(h); err != nil {
			return err
		}
		return p.handKey(t, nil)
	case cienv.None:
		b, err := inject.Dotenv(h.Vars)
		if err != nil {
			return err
		}
		if err := privdir.WriteNew(t.dotenv, b); err != nil { // a new file, never one planted there
			return fmt.Errorf("--dotenv %s: %w", t.dotenv, err)
		}
		t.dotenvSum = cleanup.SHA256(b)
		u.add(func() { os.Remove(t.dotenv) })
		return nil
	}
	return fmt.Errorf("inject: no emitter for platform %s", t.platform)
}

func (p *Process) emitGitHub(t *target, h inject.Handover, u *undo) error {
	files := map[string]io.Writer{}
	for _, path := range []string{t.env.GitHubEnv, t.env.GitHubOutput, t.env.GitHubSummary, t.env.GitHubState, t.env.GitHubPath} {
		if path == "" {
			continue
		}
		f, restore, err := openAppend(path)
		if err != nil {
			return err
		}
		defer f.Close()
		u.add(restore)
		files[path] = f
	}
	g := inject.GitHub{Stdout: p.Stdout, Title: "patinject", Env: files[t.env.GitHubEnv]}
	if t.env.GitHubOutput != "" {
		g.Output = files[t.env.GitHubOutput]
	}
	if t.env.GitHubSummary != "" {
		g.Summary = files[t.env.GitHubSummary]
	}
	if t.env.GitHubPath != "" {
		g.Path = files[t.env.GitHubPath]
	}
	if err := g.Emit(h); err != nil {
		return err
	}
	if t.env.GitHubState == "" {
		p.Warnf("GITHUB_STATE is not set, so no post step can get the key that seals the cleanup state; patinject cleanup will refuse it unless given --trust-unverified-state")
		return nil
	}
	// The key, unless the journal's first line took it already (then it stays even if this
	// inject fails: the post step may still need it for what the rollback could not revoke);
	// here it goes with the rest, and a failure cuts it back out.
	if err := p.handKey(t, files[t.env.GitHubState]); err != nil {
		return err
	}
	// The post step of this action finds the state as STATE_state.
	entry, err := inject.GitHubFileEntry("state", t.statePath, nil)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(files[t.env.GitHubState], entry); err != nil {
		return fmt.Errorf("writing GITHUB_STATE: %w", err)
	}
	return nil
}

// hasKeyChannel reports whether this inject can hand its key to its own post step.
func (t *target) hasKeyChannel() bool {
	return t.platform == cienv.Azure || (t.platform == cienv.GitHub && t.env.GitHubState != "")
}

// handKey hands the key that seals this inject's record and journal to its own post step, once,
// through the channel no later step can write: GitHub Actions, the action's saved state
// (STATE_statekey: the runner gives it to the post step of the same action only, after the
// job's environment); Azure Pipelines, a secret task variable (the agent gives
// VSTS_TASKVARIABLE_PATINJECT_STATE_KEY to this task's post-job step only). It goes before the
// journal's first line (Journal.Seal), else with the handover.
// state, when not nil, is GITHUB_STATE already open for appending.
func (p *Process) handKey(t *target, state io.Writer) error {
	if t.keyHanded || !t.hasKeyChannel() {
		return nil
	}
	switch t.platform {
	case cienv.GitHub:
		entry, err := inject.GitHubFileEntry(cleanup.GitHubStateName, t.key.Hex(), nil)
		if err != nil {
			return err
		}
		if state != nil {
			_, err = io.WriteString(state, entry)
		} else {
			// Before anything was minted: it stays, whatever comes after (see emitGitHub).
			f, _, oerr := openAppend(t.env.GitHubState)
			if oerr != nil {
				return oerr
			}
			_, err = io.WriteString(f, entry)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("writing GITHUB_STATE: %w", err)
		}
	case cienv.Azure:
		cmd := inject.AzureCommand("task.settaskvariable", [][2]string{{"variable", cleanup.AzureTaskVariable}, {"issecret", "true"}}, t.key.Hex())
		if _, err := fmt.Fprintln(p.Stdout, cmd); err != nil {
			return fmt.Errorf("handing the state key to the post-job step: %w", err)
		}
	}
	t.keyHanded = true
	return nil
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
