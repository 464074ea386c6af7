package frontdoor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// PlanOptions are what `plan` takes besides Options.
type PlanOptions struct {
	For   string // "run" (default) or "inject": which front door's plan
	Check bool   // also check logins and paths, without minting or reading a secret
	JSON  bool
}

// PlanReport is what `run` or `inject` with the same flags would do. It never holds a value.
type PlanReport struct {
	For       string      `json:"for"`
	Resolve   []PlanRef   `json:"resolve"`
	Tools     []PlanTool  `json:"tools"`
	Variables []PlanVar   `json:"variables"`
	Files     []PlanFile  `json:"files"`
	Masked    PlanMasks   `json:"masked"`
	Undo      []string    `json:"undo"`
	Notes     []string    `json:"notes,omitempty"`
	Checks    []PlanCheck `json:"checks,omitempty"`
	checked   bool
	failed    int
}

// PlanRef is one reference and what resolving it would do.
type PlanRef struct {
	Name    string            `json:"name"` // the variable, or "--token"
	From    string            `json:"from"`
	Ref     string            `json:"ref,omitempty"` // "" for a literal
	Action  string            `json:"action"`        // read, write, mint, literal
	What    string            `json:"what"`
	Details map[string]string `json:"details,omitempty"`
	undo    string
	last    string
}

// PlanTool is one value given to one tool.
type PlanTool struct {
	Tool  string `json:"tool"`
	Value string `json:"value"`
	How   string `json:"how"`
}

// PlanVar is one variable handed to CMD or the later steps.
type PlanVar struct {
	Name   string `json:"name"`
	Secret bool   `json:"secret"`
	From   string `json:"from"`
}

// PlanFile is one file written in the private directory.
type PlanFile struct {
	Path     string `json:"path"`
	Secret   bool   `json:"secret"`
	Launcher bool   `json:"launcher,omitempty"` // a launcher a tool runs (NuGet's plugin), 0700
}

// PlanMasks says how much is redacted (run) or registered with the masker (inject).
type PlanMasks struct {
	Secrets int `json:"secrets"`
	Forms   int `json:"forms"`
}

// PlanCheck is the outcome of one --check.
type PlanCheck struct {
	Ref   string `json:"ref"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// placeholder stands for a value in the plan: long enough to be redacted, and no one's.
const placeholder = "patinject-plan-placeholder-value"

// privateDir stands for the private directory, which the plan does not make.
const privateDir = "<private dir>"

// Plan prints what `run` or `inject` with the same flags would resolve, mint, inject, mask,
// write and undo, without contacting any service and without any value. With Check it also
// checks what can be checked without minting or reading a secret; a failed check is exit 125.
func (p *Process) Plan(ctx context.Context, o *Options, po PlanOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if po.For == "" {
		po.For = "run"
	}
	if po.For != "run" && po.For != "inject" {
		return fmt.Errorf("--for %s: want run or inject", po.For)
	}
	s := p.newSession(ctx, o, nil)
	r, err := s.planRefs(po)
	if err != nil {
		return err
	}
	if err := s.planTools(&r, po); err != nil {
		return err
	}
	if po.Check {
		s.planCheck(ctx, &r)
	}
	if po.JSON {
		enc := json.NewEncoder(p.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		r.print(p.Stdout)
	}
	if r.failed > 0 {
		return fmt.Errorf("plan --check: %d of %d checks failed (see above)", r.failed, len(r.Checks))
	}
	return nil
}

// planRefs describes every reference, as the resolver would take them.
func (s *session) planRefs(po PlanOptions) (PlanReport, error) {
	r := PlanReport{For: po.For}
	reqs, tokenReq, err := s.o.requests(s.resolver.Known)
	if err != nil {
		return r, err
	}
	if tokenReq != nil {
		note, err := s.fitToTools(tokenReq)
		if err != nil {
			return r, err
		}
		if note != "" {
			r.Notes = append(r.Notes, note)
		}
		reqs = append(reqs, *tokenReq)
	}
	if err := s.resolver.Check(reqs); err != nil {
		return r, err
	}
	env := s.p.sourceEnv(s.o, nil, s.log)
	for _, q := range reqs {
		pr := PlanRef{Name: q.Name, From: q.From, Action: "literal", What: "a literal from the env file"}
		if q.From == "" {
			pr.From = "--token"
		}
		if q.Literal == nil {
			pr.Ref = q.Ref.Raw
			pv := s.p.sources().Provider(q.Ref.Scheme)
			if pv == nil || pv.Describe == nil {
				pr.Action, pr.What = "resolve", "through the "+q.Ref.Scheme+" source"
			} else {
				d, err := pv.Describe(env, q.Ref)
				if err != nil {
					return r, &resolve.Error{Name: q.Name, From: q.From, Ref: q.Ref, Err: err}
				}
				pr.Action, pr.What, pr.Details, pr.undo, pr.last = d.Action, d.What, d.Details, d.Undo, d.Last
			}
		}
		if q.Public {
			pr.What += " (not secret)"
		}
		r.Resolve = append(r.Resolve, pr)
	}
	return r, nil
}

// planTools builds the tools' plan over placeholder values, to name what it sets and writes.
func (s *session) planTools(r *PlanReport, po PlanOptions) error {
	mode := inject.ModeRun
	if po.For == "inject" {
		mode = inject.ModeCI
	}
	res := resolved{}
	for _, pr := range r.Resolve {
		sec := secret.Secret{Name: pr.Name, Value: secret.NewValue(placeholder), Origin: pr.Ref, Public: strings.HasSuffix(pr.What, "(not secret)")}
		if pr.From == "--token" {
			res.token = &sec
			continue
		}
		res.secrets = append(res.secrets, sec)
		r.Variables = append(r.Variables, PlanVar{Name: pr.Name, Secret: !sec.Public, From: pr.From})
	}
	for _, t := range inject.Tools() {
		for _, v := range s.o.Tools[t.Flag] {
			how := t.Summary
			if t.Switch {
				how = "on"
			}
			r.Tools = append(r.Tools, PlanTool{Tool: "--" + t.Flag, Value: v, How: how})
		}
	}
	cfg := s.o.toolConfig(res.token, privateDir, s.p.Lookup, mode)
	s.planHooks(&cfg, res, privateDir)
	plan, err := inject.Build(cfg)
	if err != nil {
		return err
	}
	for _, e := range plan.Env {
		r.Variables = append(r.Variables, PlanVar{Name: e.Name, Secret: e.Secret, From: "tools"})
	}
	for _, f := range plan.Files {
		r.Files = append(r.Files, PlanFile{Path: filepath.ToSlash(f.Path), Secret: f.Secret, Launcher: f.Exec})
	}
	r.Masked = PlanMasks{Forms: len(s.patterns(res, plan))}
	for _, sec := range res.secrets {
		if !sec.Public {
			r.Masked.Secrets++
		}
	}
	if res.token != nil {
		r.Masked.Secrets++
	}
	if len(plan.Files) > 0 {
		r.Undo = append(r.Undo, "remove "+privateDir+" and every file in it")
	}
	var last []string
	for i := len(r.Resolve) - 1; i >= 0; i-- {
		if u := r.Resolve[i].undo; u != "" {
			r.Undo = append(r.Undo, u+" ("+r.Resolve[i].Name+")")
		}
		if l := r.Resolve[i].last; l != "" && !slices.Contains(last, l) {
			last = append(last, l)
		}
	}
	r.Undo = append(r.Undo, last...)
	if po.For == "inject" {
		r.Notes = append(r.Notes, "inject records these in its state file; the post step's cleanup undoes them, last first")
	}
	return nil
}

// planCheck probes each reference whose source can be checked without minting.
func (s *session) planCheck(ctx context.Context, r *PlanReport) {
	r.checked = true
	env := s.p.SourceEnv(s.o)
	for _, pr := range r.Resolve {
		if pr.Ref == "" {
			continue
		}
		ref, err := secret.ParseRef(pr.Ref)
		if err != nil {
			continue
		}
		if pr.Details["scope"] != "" {
			ref.Query.Set("scope", pr.Details["scope"])
		}
		pv := s.p.sources().Provider(ref.Scheme)
		if pv == nil || pv.Probe == nil {
			continue
		}
		c := PlanCheck{Ref: pr.Ref, OK: true}
		if err := pv.Probe(ctx, env, ref); err != nil {
			c.OK, c.Error = false, OneLine(err.Error())
			r.failed++
		}
		r.Checks = append(r.Checks, c)
	}
}

func (r PlanReport) print(w io.Writer) {
	fmt.Fprintf(w, "patinject plan for %s: nothing is resolved, minted or written now.\n", r.For)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	section := func(title string) { tw.Flush(); fmt.Fprintf(w, "\n%s\n", title) }
	section("resolve")
	for _, pr := range r.Resolve {
		from := pr.From
		if pr.Ref != "" {
			from += " " + pr.Ref
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s %s\n", pr.Name, from, pr.Action, pr.What)
	}
	if len(r.Tools) > 0 {
		section("hand the --token to")
		for _, t := range r.Tools {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Tool, t.Value, t.How)
		}
	}
	section("variables")
	vars := append([]PlanVar(nil), r.Variables...)
	sort.SliceStable(vars, func(i, j int) bool { return vars[i].From != "tools" && vars[j].From == "tools" })
	for _, v := range vars {
		kind := "plain"
		if v.Secret {
			kind = "secret"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, kind, v.From)
	}
	if len(r.Files) > 0 {
		section("files (0600, in a private 0700 directory)")
		for _, f := range r.Files {
			kind := "holds no secret"
			if f.Secret {
				kind = "holds a secret"
			}
			if f.Launcher {
				kind = "a launcher (0700) that " + kind
			}
			fmt.Fprintf(tw, "  %s\t%s\n", f.Path, kind)
		}
	}
	section("masked")
	fmt.Fprintf(tw, "  %d secrets in %d forms (and every source credential)\n", r.Masked.Secrets, r.Masked.Forms)
	section("undone at the end, in this order")
	if len(r.Undo) == 0 {
		fmt.Fprintf(tw, "  nothing\n")
	}
	for i, u := range r.Undo {
		fmt.Fprintf(tw, "  %d. %s\n", i+1, u)
	}
	if len(r.Notes) > 0 {
		section("notes")
		for _, n := range r.Notes {
			fmt.Fprintf(tw, "  %s\n", n)
		}
	}
	if r.checked {
		section("checks")
		if len(r.Checks) == 0 {
			fmt.Fprintf(tw, "  nothing to check\n")
		}
		for _, c := range r.Checks {
			if c.OK {
				fmt.Fprintf(tw, "  ok\t%s\n", c.Ref)
			} else {
				fmt.Fprintf(tw, "  FAILED\t%s\t%s\n", c.Ref, c.Error)
			}
		}
	}
	tw.Flush()
}
