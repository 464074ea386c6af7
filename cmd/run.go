package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/runner"
	"github.com/patinject/patinject/secret"
)

// cleanupTimeout bounds the revocations and removals at the end of a run.
const cleanupTimeout = 60 * time.Second

func (a *app) run(c *cli.Context) (err error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return fmt.Errorf("run needs a command: patinject run [flags] -- CMD [ARGS...]")
	}
	o := optionsFrom(c)
	if err := o.validate(); err != nil {
		return err
	}
	log := a.logger(o.Debug)

	// Signals are caught from the start: one that arrives while secrets are being resolved
	// cancels the resolution, and what was already minted is still taken back.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, runner.Forwarded...)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()

	reg := &cleanup.Registry{}
	defer func() {
		cerr := a.drain(reg, log)
		if cerr != nil && o.Strict {
			var ee *exitError
			if err == nil || (errors.As(err, &ee) && ee.code == 0) {
				err = &exitError{code: ExitCleanup}
			}
		}
	}()

	// The private directory is named now, for the injectors to plan with, and made only if the
	// plan has files: a run that only exports variables touches no disk.
	dir, err := reserveDir()
	if err != nil {
		return err
	}

	resolver := a.resolver(&o, reg, log)
	reqs, err := o.requests(resolver.Known)
	if err != nil {
		return err
	}
	var caught os.Signal
	watchDone := make(chan struct{})
	watchStopped := make(chan struct{})
	go func() {
		defer close(watchStopped)
		select {
		case s := <-sigs:
			caught = s
			cancel()
		case <-watchDone:
		}
	}()
	secrets, err := resolver.Resolve(ctx, reqs)
	close(watchDone)
	<-watchStopped
	if caught != nil {
		return &exitError{code: 128 + int(caught.(syscall.Signal)), msg: fmt.Sprintf("interrupted by %v while resolving secrets; nothing was left behind", caught)}
	}
	if err != nil {
		return err
	}
	if err := checkLengths(secrets); err != nil {
		return err
	}

	plan, err := inject.Build(injectConfig(&o, secrets, dir, a.lookup, inject.ModeRun))
	if err != nil {
		return err
	}
	if len(plan.Files) > 0 {
		if err := makePrivateDir(dir); err != nil {
			return err
		}
		reg.Add(cleanup.Action{Kind: "dir", ID: dir}, func(context.Context) error { return os.RemoveAll(dir) })
		if err := writeFiles(plan.Files); err != nil {
			return err
		}
	}
	env := childEnv(a.environ(), secrets, plan.Env)
	for _, s := range secrets {
		if s.Name != tokenName {
			log.Debug("injecting", "name", s.Name, "from", s.Origin, "secret", !s.Public)
		}
	}
	for _, e := range plan.Env {
		log.Debug("injecting", "name", e.Name, "secret", e.Secret)
	}

	stdout, stderr := a.stdout, a.stderr
	var redactors []*inject.Redactor
	if pats := patterns(secrets, plan, o.Username); len(pats) > 0 && !c.Bool("no-redact") {
		// One compiled matcher serves both streams; each redactor keeps its own held tail.
		m := inject.NewMatcher(pats)
		ro, re := m.NewRedactor(stdout), m.NewRedactor(stderr)
		redactors = append(redactors, ro, re)
		stdout, stderr = ro, re
	}
	stdin, _ := a.stdin.(*os.File)
	code, runErr := runner.Run(runner.Command{
		Args: args, Env: env, Stdin: stdin, Stdout: stdout, Stderr: stderr, Signals: sigs,
	})
	for _, r := range redactors {
		if ferr := r.Flush(); ferr != nil && runErr == nil {
			runErr = ferr
		}
	}
	if runErr != nil {
		var se *runner.StartError
		if errors.As(runErr, &se) {
			return runErr
		}
		a.warnf("%v", runErr)
	}
	return &exitError{code: code}
}

// drain runs the cleanup registry and reports each failure with what a person can do about it.
func (a *app) drain(reg *cleanup.Registry, log interface{ Debug(string, ...any) }) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := reg.Run(ctx, func(act cleanup.Action) {
		log.Debug("already expired, nothing to undo", "what", act.String())
	})
	if err == nil {
		return nil
	}
	for _, e := range unjoin(err) {
		a.warnf("%v", e)
	}
	return err
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// reserveDir names a private directory for the files of one run, under the system's temporary
// directory, without making it: makePrivateDir does that when there is a file to write.
func reserveDir() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return filepath.Join(os.TempDir(), "patinject-"+hex.EncodeToString(b[:])), nil
}

// makePrivateDir makes dir, 0700. Mkdir fails if anything, a planted symlink included, already
// has the name, so the directory is patinject's own as surely as os.MkdirTemp's would be.
func makePrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("creating a private temporary directory: %w (set TMPDIR to a writable directory)", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.Remove(dir)
		return err
	}
	return nil
}

// privateDirIn makes it under base ("" is the system's temporary directory; `inject` uses the CI
// platform's per-job one).
func privateDirIn(base string) (string, error) {
	dir, err := os.MkdirTemp(base, "patinject-")
	if err != nil {
		return "", fmt.Errorf("creating a private temporary directory: %w (set TMPDIR to a writable directory)", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// writeFiles writes each file 0600, atomically: a reader sees the whole file or none.
func writeFiles(files []inject.File) error {
	for _, f := range files {
		if err := writeFile(f.Path, []byte(f.Content.Reveal())); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return nil
}

func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(dirOf(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return "."
}

// childEnv is the parent's environment with the secrets and the plan's variables set on top.
func childEnv(parent []string, secrets []secret.Secret, planEnv []inject.EnvVar) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, kv := range parent {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	for _, s := range secrets {
		if s.Name != tokenName {
			set(s.Name, s.Value.Reveal())
		}
	}
	for _, e := range planEnv {
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

// patterns is every byte string the redactor must replace: each secret in all its forms, and the
// derived forms the injectors made.
func patterns(secrets []secret.Secret, plan inject.Plan, username string) [][]byte {
	users := []string{inject.DefaultUsername}
	if username != "" {
		users = []string{username}
	}
	var pats [][]byte
	for _, s := range secrets {
		if s.Public {
			continue
		}
		pats = append(pats, inject.Forms(s.Value.Reveal(), users...)...)
	}
	for _, m := range plan.Masks {
		pats = append(pats, inject.Forms(m.Reveal())...)
	}
	return pats
}

var _ io.Writer = (*inject.Redactor)(nil)
