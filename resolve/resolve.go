// Package resolve turns references into secrets through the sources registered by scheme,
// concurrently and all or nothing, registering what must be undone the moment it exists.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/patinject/patinject/cleanup"

	"github.com/patinject/patinject/secret"
)

// Source resolves the references of one scheme. A source that mints or leases returns how to
// take it back in Resolved.Undo; on error it must leave nothing behind.
type Source interface {
	Resolve(ctx context.Context, ref secret.Ref) (Resolved, error)
}

// Checker is a source that can tell a malformed reference without any I/O. Every request is
// checked before any source starts, so that a bad reference cannot leave a lease or a minted token
// behind from a source that happened to run first.
type Checker interface {
	Check(ref secret.Ref) error
}

// Resolved is what a source returns for one reference.
type Resolved struct {
	Value  secret.Value
	Expiry time.Time
	// Undo takes back what resolving created (a minted token, a lease); nil when nothing was.
	// Action describes it without any secret, for logs and for the state file of `inject`.
	Undo   func(context.Context) error
	Action cleanup.Action
	// TokenType says how the value is presented, when the source knows: "pat" (Basic auth,
	// any user name) or "bearer" (Authorization: Bearer); "" when it does not say. The Vault
	// source reads it from a response's token_type (the Azure DevOps secrets engine's creds).
	TokenType string
	// Extend, when the source can, moves the expiry of what it minted forward by its original
	// lifetime and returns the new expiry; the value stays the same (a PAT's validTo). `run`
	// calls it shortly before expiry for as long as the command runs.
	Extend func(context.Context) (time.Time, error)
}

// Request asks for one secret: Ref is resolved, or Literal is taken as it is (a dotenv value that
// matches no scheme).
type Request struct {
	Name    string // the variable it is exported as, or a role such as "--token"
	From    string // where the request was written, for errors: "--secret", "--env-file .env"
	Ref     secret.Ref
	Literal *secret.Value
	Public  bool
}

// Error is a failure to resolve one request. Its text names the request and the reference, never
// a value.
type Error struct {
	Name, From string
	Ref        secret.Ref
	Err        error
	// Unknown: the value has no known scheme, so it may be a secret typed where a reference
	// belongs; the message names the request only.
	Unknown bool
}

func (e *Error) Error() string {
	where := e.Name
	if e.From != "" {
		where = e.From + " " + e.Name
	}
	if e.Unknown {
		return fmt.Sprintf("%s: %v", where, e.Err)
	}
	return fmt.Sprintf("%s (%s): %v", where, e.Ref, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Resolver resolves many requests concurrently through the sources registered by scheme.
type Resolver struct {
	Sources  map[string]Source
	Registry *cleanup.Registry // every Undo is registered here the moment its source returns
	Log      *slog.Logger

	credentials
}

// Schemes lists the registered schemes, sorted, for messages.
func (r *Resolver) Schemes() []string {
	var s []string
	for k := range r.Sources {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Known reports whether s is a reference of a registered scheme.
func (r *Resolver) Known(s string) bool {
	scheme, ok := secret.Scheme(s)
	if !ok {
		return false
	}
	_, ok = r.Sources[scheme]
	return ok
}

// Check verifies that every request names a registered scheme, before anything is resolved.
func (r *Resolver) Check(reqs []Request) error {
	for _, q := range reqs {
		if q.Literal != nil {
			continue
		}
		src, ok := r.Sources[q.Ref.Scheme]
		if !ok {
			return &Error{Name: q.Name, From: q.From, Ref: q.Ref,
				Unknown: true,
				Err:     fmt.Errorf("not a reference of a known scheme (known: %s); the value is not repeated: it may be a secret typed where a reference belongs (give it through env:NAME or file:PATH)", strings.Join(r.Schemes(), ", "))}
		}
		if c, ok := src.(Checker); ok {
			if err := c.Check(q.Ref); err != nil {
				return &Error{Name: q.Name, From: q.From, Ref: q.Ref, Err: err}
			}
		}
	}
	return nil
}

// Resolve resolves every request concurrently; identical references are resolved once. It
// returns all secrets in request order, or the first error, in which case the context passed to
// the other sources is cancelled. What was minted before a failure stays in the registry, for the
// caller's cleanup to take back.
func (r *Resolver) Resolve(ctx context.Context, reqs []Request) ([]secret.Secret, error) {
	if err := r.Check(reqs); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		res Resolved
		err error
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
		results  = map[string]*result{}
	)
	for _, q := range reqs {
		if q.Literal != nil {
			continue
		}
		if _, dup := results[q.Ref.Raw]; dup {
			continue
		}
		res := &result{}
		results[q.Ref.Raw] = res
		wg.Add(1)
		go func(q Request) {
			defer wg.Done()
			start := time.Now()
			out, err := r.Sources[q.Ref.Scheme].Resolve(ctx, q.Ref)
			if err == nil && out.Undo != nil && r.Registry != nil {
				r.Registry.Add(out.Action, out.Undo)
				if out.Extend != nil {
					// The registry learns each new expiry, or it would skip the undo as moot.
					extend, act, reg := out.Extend, out.Action, r.Registry
					out.Extend = func(ctx context.Context) (time.Time, error) {
						exp, err := extend(ctx)
						if err == nil {
							reg.SetExpiry(act.Kind, act.ID, exp)
						}
						return exp, err
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.res, res.err = out, err
			if err != nil {
				if firstErr == nil || errors.Is(firstErr, context.Canceled) {
					firstErr = &Error{Name: q.Name, From: q.From, Ref: q.Ref, Err: err}
				}
				cancel()
				return
			}
			if r.Log != nil {
				r.Log.Debug("resolved", "name", q.Name, "ref", q.Ref.String(), "bytes", out.Value.Len(), "took", time.Since(start).Round(time.Millisecond))
			}
		}(q)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	secrets := make([]secret.Secret, 0, len(reqs))
	for _, q := range reqs {
		s := secret.Secret{Name: q.Name, Public: q.Public, Origin: "literal"}
		if q.Literal != nil {
			s.Value = *q.Literal
			if q.From != "" {
				s.Origin = q.From
			}
		} else {
			res := results[q.Ref.Raw].res
			s.Value, s.Expiry, s.Origin, s.TokenType, s.Extend = res.Value, res.Expiry, q.Ref.String(), res.TokenType, res.Extend
		}
		secrets = append(secrets, s)
	}
	return secrets, nil
}

// Refresher is a source whose values are short-lived tokens it can get again from the same
// identity (an Entra access token): Fresh returns a function that gives the current value of
// ref, a new one when the last nears expiry, with its expiry. The git credential helper hands
// out such a value for a job longer than one token's life.
type Refresher interface {
	Fresh(ctx context.Context, ref secret.Ref) (func(context.Context) (secret.Value, time.Time, error), error)
}

// Bearer is a source whose values are OAuth bearer tokens rather than passwords or PATs: the
// tools send them as "Authorization: Bearer" where they can (inject.Config.TokenKind).
type Bearer interface {
	Bearer(ref secret.Ref) bool
}
