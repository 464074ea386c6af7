package frontdoor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// cleanupTimeout bounds the revocations and removals at the end of a command.
const cleanupTimeout = 60 * time.Second

// session is one command's working state: its options, log, undo registry and resolver.
type session struct {
	learnMu sync.Mutex
	learnTo *learner // where secrets learnt during the run go (run's redaction); nil: nowhere

	p          *Process
	o          *Options
	log        *slog.Logger
	reg        *cleanup.Registry
	resolver   *resolve.Resolver
	journal    *cleanup.Journal
	journalDir string
	private    []string     // private directories made (run), for the runner's watchdog
	runDir     *privdir.Dir // run: the private directory, reserved, made when a file needs it
}

// newSession builds every source for this command (no I/O yet) over reg; reg nil means
// whatever a source takes is given back at once, and nothing is journaled.
func (p *Process) newSession(ctx context.Context, o *Options, reg *cleanup.Registry) *session {
	log := p.Logger(o.Debug)
	env := p.sourceEnv(o, reg, log)
	s := &session{p: p, o: o, log: log, reg: reg}
	if reg != nil {
		s.journal, s.journalDir = p.journal(ctx)
		env.Journal = s.journal
	}
	s.resolver = p.sources().Resolver(env)
	return s
}

func (p *Process) sourceEnv(o *Options, reg *cleanup.Registry, log *slog.Logger) resolve.Env {
	return resolve.Env{
		Lookup:       p.Lookup,
		Environ:      p.Environ,
		String:       func(name string) string { return o.Source[name] },
		Bool:         func(name string) bool { return o.Source[name] == "true" },
		Registry:     reg,
		Log:          log,
		UserAgent:    "patinject/" + p.Version,
		Progress:     func(msg string) { fmt.Fprintf(p.Stderr, "patinject: %s\n", p.Line(msg)) },
		OnCredential: func(v secret.Value) { p.knowSecrets(v) },
	}
}

// resolved is what resolution gives: the secrets exported by name, and the --token credential
// that the tools are handed.
type resolved struct {
	secrets []secret.Secret
	token   *secret.Secret
}

// resolve resolves every request concurrently, all or nothing, and refuses values too short to
// redact. What was minted before a failure stays in the registry, for the caller to take back.
func (s *session) resolve(ctx context.Context) (resolved, error) {
	reqs, tokenReq, err := s.o.requests(s.resolver.Known)
	if err != nil {
		return resolved{}, err
	}
	if tokenReq != nil {
		note, err := s.fitToTools(tokenReq)
		if err != nil {
			return resolved{}, err
		}
		if note != "" {
			fmt.Fprintf(s.p.Stderr, "patinject: %s\n", s.p.Line(note))
		}
	}
	all := reqs
	if tokenReq != nil {
		all = append(all[:len(all):len(all)], *tokenReq)
	}
	s.sweep(ctx, all)
	got, err := s.resolver.Resolve(ctx, all)
	if err != nil {
		return resolved{}, err
	}
	var r resolved
	if tokenReq != nil {
		tok := got[len(got)-1]
		r.token, got = &tok, got[:len(got)-1]
	}
	r.secrets = got
	for _, sec := range r.secrets {
		if !sec.Public {
			s.p.knowSecrets(sec.Value)
		}
	}
	if r.token != nil {
		s.p.knowSecrets(r.token.Value)
	}
	for _, sec := range r.secrets {
		s.log.Debug("injecting", "name", sec.Name, "from", sec.Origin, "secret", !sec.Public)
	}
	if err := checkLengths(r.secrets, r.token); err != nil {
		return r, err
	}
	for _, w := range valueWarnings(r.secrets) {
		s.p.Warnf("%s", w)
	}
	return r, nil
}

// patterns is every byte string that must never be shown: each secret and source credential in
// all its forms, and the derived forms the tools made.
func (s *session) patterns(r resolved, plan inject.Plan) [][]byte {
	vals, users := s.redacted(r, plan)
	var pats [][]byte
	for _, v := range vals {
		pats = append(pats, inject.Forms(v, users...)...)
	}
	return pats
}

// redacted is every value that must never be shown, each in all its forms
// (inject.NewSecretMatcher): each secret and source credential, and the derived values the tools
// made; and the usernames of their Basic forms.
func (s *session) redacted(r resolved, plan inject.Plan) (vals, users []string) {
	users = []string{inject.DefaultUsername}
	if s.o.Username != "" {
		users = []string{s.o.Username}
	}
	add := func(v secret.Value) { vals = append(vals, v.Reveal()) }
	if r.token != nil {
		add(r.token.Value)
	}
	for _, sec := range r.secrets {
		if !sec.Public {
			add(sec.Value)
		}
	}
	for _, c := range s.resolver.Credentials() {
		// A credential too short to redact without shredding the output (a role name) is not
		// one anybody could use alone.
		if c.Value.Len() >= inject.MinSecretLen {
			add(c.Value)
		}
	}
	for _, m := range plan.Masks {
		add(m)
	}
	return vals, users
}

// drain runs the cleanup registry and reports each failure with what a person can do about it.
func (s *session) drain() error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := s.reg.Run(ctx, func(act cleanup.Action) {
		s.log.Debug("already expired, nothing to undo", "what", act.String())
	})
	for _, e := range unjoin(err) {
		s.p.Warnf("%v", e)
	}
	return err
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// SourceEnv is what the sources are built from for a command that resolves no reference
// itself (pats): whatever reading a credential takes is given back at once.
func (p *Process) SourceEnv(o *Options) resolve.Env {
	env := p.sourceEnv(o, nil, p.Logger(o.Debug))
	r := p.sources().Resolver(env)
	env.Credential = func(ctx context.Context, flag string, except ...string) (secret.Value, error) {
		return r.Credential(ctx, flag, env.String(flag), except...)
	}
	return env
}

// fitToTools lets the token's source fit its reference to the tools it is handed to, and says
// what it changed.
func (s *session) fitToTools(q *resolve.Request) (string, error) {
	p := s.p.sources().Provider(q.Ref.Scheme)
	if p == nil || p.ForTools == nil {
		return "", nil
	}
	var needs []resolve.ToolNeed
	for _, t := range inject.Tools() {
		if !t.Switch && len(s.o.Tools[t.Flag]) > 0 {
			needs = append(needs, resolve.ToolNeed{Flag: t.Flag, Scopes: t.Scopes})
		}
	}
	ref, note, err := p.ForTools(q.Ref, needs)
	if err != nil {
		return "", &resolve.Error{Name: "--token", Ref: q.Ref, Err: err}
	}
	q.Ref = ref
	return note, nil
}

// sweep takes back, before anything new is minted, what a patinject that died left in the
// journals, of the kinds of the sources this command uses (their flags are the ones given).
func (s *session) sweep(ctx context.Context, reqs []resolve.Request) {
	if s.journalDir == "" || s.o.NoOrphanSweep {
		return
	}
	kinds := map[string]bool{}
	for _, q := range reqs {
		if q.Literal != nil {
			continue
		}
		if pv := s.p.sources().Provider(q.Ref.Scheme); pv != nil {
			for _, k := range pv.Kinds {
				kinds[k] = true
			}
		}
	}
	if len(kinds) > 0 {
		s.p.sweepOrphans(ctx, s.o, s.journalDir, "", kinds, nil)
	}
}

// journalErr warns once when the journal could not be written: what is minted is still taken
// back at the end, but a crash would leave it to its expiry.
func (s *session) journalErr() {
	if err := s.journal.Err(); err != nil {
		s.p.Warnf("%v: a crash of this patinject would leave what it minted to expire by itself", err)
	}
}

func (s *session) setLearner(l *learner) {
	s.learnMu.Lock()
	s.learnTo = l
	s.learnMu.Unlock()
}

// learnSecret redacts v from the command's output from now on (a token refreshed during run).
func (s *session) learnSecret(v secret.Value) {
	s.learnMu.Lock()
	l := s.learnTo
	s.learnMu.Unlock()
	l.learn(v)
	s.p.knowSecrets(v) // and patinject's own messages, which no longer hold it by luck alone
}
