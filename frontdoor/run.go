package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
	"github.com/patinject/patinject/runner"
)

// RunOptions are what `run` takes besides Options.
type RunOptions struct {
	Args     []string // CMD and its arguments
	NoRedact bool     // pass CMD's output through untouched
}

// Run resolves the secrets, runs the command with them, redacts them from its output, then
// takes back what was minted and removes what was written, on every exit path it can observe.
// The error is an *ExitError carrying the command's exit code, or why it could not run.
func (p *Process) Run(ctx context.Context, o *Options, ro RunOptions) (err error) {
	if len(ro.Args) == 0 {
		return fmt.Errorf("run needs a command: patinject run [flags] -- CMD [ARGS...]")
	}
	if err := o.Validate(); err != nil {
		return err
	}
	// Signals are caught from the start: one that arrives while secrets are being resolved
	// cancels the resolution, and what was already minted is still taken back.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, runner.Forwarded...)
	defer signal.Stop(sigs)

	s := p.newSession(ctx, o, &cleanup.Registry{})
	defer func() {
		err = s.strict(err, s.drain())
		s.journalErr()
	}()

	r, err := s.resolveInterruptibly(ctx, sigs)
	if err != nil {
		return err
	}
	plan, err := s.planAndWrite(ctx, r)
	if err != nil {
		return err
	}
	return s.runChild(ro, r, plan, sigs)
}

// strict turns a failed cleanup into exit 123 under --strict-cleanup, unless an earlier error
// already decides the exit code.
func (s *session) strict(err, cleanupErr error) error {
	if cleanupErr == nil || !s.o.Strict {
		return err
	}
	var ee *ExitError
	if err == nil || (errors.As(err, &ee) && ee.Code == 0) {
		return &ExitError{Code: ExitCleanup}
	}
	return err
}

// resolveInterruptibly resolves, cancelling on the first signal.
func (s *session) resolveInterruptibly(ctx context.Context, sigs <-chan os.Signal) (resolved, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var caught os.Signal
	watchDone, watchStopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchStopped)
		select {
		case sig := <-sigs:
			caught = sig
			cancel()
		case <-watchDone:
		}
	}()
	r, err := s.resolve(ctx)
	close(watchDone)
	<-watchStopped
	if caught != nil {
		return r, &ExitError{Code: 128 + int(caught.(syscall.Signal)), Msg: fmt.Sprintf("interrupted by %v while resolving secrets; nothing was left behind", caught)}
	}
	return r, err
}

// planAndWrite builds the tools' plan and writes its files into a private directory, made only
// if the plan has files: a run that only exports variables touches no disk.
func (s *session) planAndWrite(ctx context.Context, r resolved) (inject.Plan, error) {
	pd, err := privdir.Reserve("")
	if err != nil {
		return inject.Plan{}, err
	}
	s.runDir = pd
	dir := pd.Path()
	cfg := s.o.toolConfig(r.token, dir, s.p.Lookup, inject.ModeRun)
	s.tokenKind(&cfg, r)
	dirMade := false
	if ref, fresh, git, nuget, err := s.refreshable(ctx, r); err != nil {
		return inject.Plan{}, err
	} else if git || nuget {
		// The credential helpers ask this process for a token refreshed before expiry.
		args, err := s.gitCredentialSocket(ref, fresh, dir)
		if err != nil {
			return inject.Plan{}, err
		}
		setRefresh(&cfg, args, git, nuget)
		dirMade = true
	}
	plan, err := inject.Build(cfg)
	if err != nil || len(plan.Files) == 0 {
		return plan, err
	}
	if !dirMade {
		if err := s.makeRunDir(); err != nil {
			return plan, err
		}
	}
	return plan, writeFiles(plan.Files)
}

// makeRunDir makes the run's private directory (reserved by planAndWrite) and registers its
// removal; the runner's watchdog removes it too if patinject is killed.
func (s *session) makeRunDir() error {
	// A private directory left by a run that was killed (SIGKILL, OOM) before it could remove it,
	// and that no watchdog removed (Windows, or no sh), is recognised by its released hold.
	if removed, err := privdir.Sweep(""); len(removed) > 0 || err != nil {
		s.log.Debug("removed the private directories of killed runs", "dirs", removed, "error", err)
	}
	if err := s.runDir.MakeHeld(); err != nil {
		return err
	}
	dir := s.runDir.Path()
	s.private = append(s.private, dir)
	s.reg.Add(cleanup.Action{Kind: "dir", ID: dir}, func(context.Context) error { return s.runDir.Remove() })
	return nil
}

// runChild starts the command with the secrets in its environment and its output redacted.
func (s *session) runChild(ro RunOptions, r resolved, plan inject.Plan, sigs <-chan os.Signal) error {
	for _, e := range plan.Env {
		s.log.Debug("injecting", "name", e.Name, "secret", e.Secret)
	}
	stdout, stderr := s.p.Stdout, s.p.Stderr
	var redactors []*liveRedaction
	if vals, users := s.redacted(r, plan); len(vals) > 0 && !ro.NoRedact {
		// One compiled matcher serves both streams; each redactor keeps its own held tail. A
		// token refreshed for the git credential helper is learnt by both before git gets it.
		m := inject.NewSecretMatcher(vals, users...)
		rout, rerr := newLiveRedaction(stdout, m, users), newLiveRedaction(stderr, m, users)
		redactors = append(redactors, rout, rerr)
		stdout, stderr = rout, rerr
		known := map[string]bool{}
		for _, v := range vals {
			known[v] = true
		}
		s.setLearner(&learner{known: known, streams: redactors})
	}
	stdin, _ := s.p.Stdin.(*os.File)
	// A minted PAT is extended while the command runs (ado-pat://, a job longer than ttl=).
	stopKeeping := s.keepAlive(r)
	code, runErr := runner.Run(runner.Command{
		Args: ro.Args, Env: s.childEnv(r, plan), Stdin: stdin, Stdout: stdout, Stderr: stderr, Signals: sigs,
		Private: s.private,
	})
	stopKeeping()
	for _, red := range redactors {
		if ferr := red.Flush(); ferr != nil && runErr == nil {
			runErr = ferr
		}
	}
	if runErr != nil {
		var se *runner.StartError
		if errors.As(runErr, &se) {
			return runErr
		}
		s.p.Warnf("%v", runErr)
		var oe *runner.OutputError
		if errors.As(runErr, &oe) {
			return &ExitError{Code: ExitOutputLost}
		}
	}
	return &ExitError{Code: code}
}

// childEnv is the parent's environment with the secrets and the plan's variables set on top.
func (s *session) childEnv(r resolved, plan inject.Plan) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	// The variables source credentials were read from stay with patinject, unless kept.
	drop := map[string]bool{}
	if !s.o.KeepCredentialEnv {
		for _, c := range s.resolver.Credentials() {
			if c.Var != "" {
				drop[c.Var] = true
				s.log.Debug("keeping a source credential from the command", "variable", c.Var, "from", c.What)
			}
		}
	}
	for _, kv := range s.p.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !drop[k] {
			set(k, v)
		}
	}
	for _, sec := range r.secrets {
		set(sec.Name, sec.Value.Reveal())
	}
	for _, e := range plan.Env {
		v := e.Value.Reveal()
		if old, ok := vals[e.Name]; ok && e.Append != "" && old != "" {
			v = old + e.Append + v
		}
		set(e.Name, v)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out
}

var _ io.Writer = (*inject.Redactor)(nil)
