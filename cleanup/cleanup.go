// Package cleanup is the registry of what must be undone when a run ends: minted tokens to revoke,
// leases to give back, files to remove. Front doors drain it on every exit path; `inject` writes
// its actions to a state file so that `cleanup` can undo them in a later step.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Action describes one thing to undo, without any secret, so that it can be logged and written
// to a state file.
type Action struct {
	Kind   string            `json:"kind"`             // "ado-pat", "vault-lease", "vault-token", "file", ...
	ID     string            `json:"id"`               // authorization id, lease id, path: never a secret
	Label  string            `json:"label,omitempty"`  // for people: "PAT patinject contoso/app run 42"
	Expiry time.Time         `json:"expiry,omitzero"`  // after this there is nothing left to undo
	Params map[string]string `json:"params,omitempty"` // where it lives: service URL, organisation, ...
	Manual string            `json:"manual,omitempty"` // the command a person runs to undo it by hand
	// Unsealed marks an action read where no seal vouches for it (a journal line nobody sealed
	// or whose key this process lacks, a state record taken with --trust-unverified-state): a
	// later build step could have written it. Its undoer takes back only what the service
	// confirms is patinject's. Never written to a file.
	Unsealed bool `json:"-"`
}

func (a Action) String() string {
	if a.Label != "" {
		return fmt.Sprintf("%s %s (%s)", a.Kind, a.ID, a.Label)
	}
	return a.Kind + " " + a.ID
}

// Failure is an action that could not be undone.
type Failure struct {
	Action Action
	Err    error
}

func (f *Failure) Error() string {
	msg := fmt.Sprintf("could not undo %s: %v", f.Action, f.Err)
	if f.Action.Manual != "" {
		msg += "; undo it by hand: " + f.Action.Manual
	}
	return msg
}

func (f *Failure) Unwrap() error { return f.Err }

// LeftAlone is an undo refused because only an unsealed record says the thing is patinject's
// and the service does not confirm it (says it is another's, or cannot say whose it is): it is
// left alone, and the record is not acted on again.
type LeftAlone struct{ Why string }

func (e *LeftAlone) Error() string { return e.Why }

type item struct {
	action Action
	undo   func(context.Context) error
}

// Registry collects undo actions. It is safe for concurrent use.
type Registry struct {
	mu    sync.Mutex
	items []item
	now   func() time.Time
}

// Add registers undo, described by a. Register the moment the thing to undo exists.
func (r *Registry) Add(a Action, undo func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, item{a, undo})
}

// SetExpiry records that the thing kind/id now expires at expiry (a PAT whose life was
// extended): Run must not skip it as expired before then.
func (r *Registry) SetExpiry(kind, id string, expiry time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.items {
		if r.items[i].action.Kind == kind && r.items[i].action.ID == id {
			r.items[i].action.Expiry = expiry
		}
	}
}

// Actions lists what is registered, in registration order.
func (r *Registry) Actions() []Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Action, len(r.items))
	for i, it := range r.items {
		out[i] = it.action
	}
	return out
}

// Len is the number of registered actions.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// Run undoes everything, last registered first, and empties the registry. An action whose expiry
// has passed is skipped (an expired token cannot be revoked twice). Every failure is returned,
// joined, as *Failure values; the other actions still run. skipped is called for each skipped one.
func (r *Registry) Run(ctx context.Context, skipped func(Action)) error {
	r.mu.Lock()
	items := r.items
	r.items = nil
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	r.mu.Unlock()
	var errs []error
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if !it.action.Expiry.IsZero() && now().After(it.action.Expiry) {
			if skipped != nil {
				skipped(it.action)
			}
			continue
		}
		if err := it.undo(ctx); err != nil {
			errs = append(errs, &Failure{Action: it.action, Err: err})
		}
	}
	return errors.Join(errs...)
}
