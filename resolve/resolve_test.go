package resolve

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patinject/patinject/cleanup"

	"github.com/patinject/patinject/secret"
)

// barrierSource answers only once n resolves are in flight at the same time: it proves that the
// resolver does not resolve one after the other.
type barrierSource struct {
	n       int
	mu      sync.Mutex
	waiting int
	release chan struct{}
	calls   atomic.Int32
}

func (s *barrierSource) Resolve(ctx context.Context, ref secret.Ref) (Resolved, error) {
	s.calls.Add(1)
	s.mu.Lock()
	s.waiting++
	if s.waiting == s.n {
		close(s.release)
	}
	s.mu.Unlock()
	select {
	case <-s.release:
	case <-ctx.Done():
		return Resolved{}, ctx.Err()
	case <-time.After(10 * time.Second):
		return Resolved{}, errors.New("resolves were not concurrent")
	}
	return Resolved{Value: secret.NewValue("value-of-" + ref.Opaque)}, nil
}

func mustRef(t *testing.T, s string) secret.Ref {
	t.Helper()
	r, err := secret.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolveConcurrentAndDeduplicated(t *testing.T) {
	t.Parallel()
	src := &barrierSource{n: 5, release: make(chan struct{})}
	r := &Resolver{Sources: map[string]Source{"t": src}}
	var reqs []Request
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		reqs = append(reqs, Request{Name: strings.ToUpper(name), Ref: mustRef(t, "t:"+name)})
	}
	reqs = append(reqs, Request{Name: "A2", Ref: mustRef(t, "t:a")}) // same reference: resolved once
	lit := secret.NewValue("literal-value")
	reqs = append(reqs, Request{Name: "L", Literal: &lit, From: "--env-file x"})
	got, err := r.Resolve(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if n := src.calls.Load(); n != 5 {
		t.Errorf("got %d calls, want 5 (one per distinct reference)", n)
	}
	want := []string{"value-of-a", "value-of-b", "value-of-c", "value-of-d", "value-of-e", "value-of-a", "literal-value"}
	for i, s := range got {
		if s.Value.Reveal() != want[i] || s.Name != reqs[i].Name {
			t.Errorf("secret %d: got %s=%q, want %s=%q", i, s.Name, s.Value.Reveal(), reqs[i].Name, want[i])
		}
	}
}

// mintSource mints for every reference but "fail", which fails after the others have minted.
type mintSource struct {
	minted  atomic.Int32
	started chan struct{}
}

func (s *mintSource) Resolve(ctx context.Context, ref secret.Ref) (Resolved, error) {
	if ref.Opaque == "fail" {
		<-s.started
		<-s.started
		return Resolved{}, errBoom
	}
	s.minted.Add(1)
	s.started <- struct{}{}
	return Resolved{
		Value:  secret.NewValue("minted-" + ref.Opaque),
		Action: cleanup.Action{Kind: "test", ID: ref.Opaque},
		Undo:   func(context.Context) error { s.minted.Add(-1); return nil },
	}, nil
}

func TestResolveAllOrNothing(t *testing.T) {
	t.Parallel()
	src := &mintSource{started: make(chan struct{})}
	reg := &cleanup.Registry{}
	r := &Resolver{Sources: map[string]Source{"m": src}, Registry: reg}
	_, err := r.Resolve(context.Background(), []Request{
		{Name: "A", Ref: mustRef(t, "m:a")},
		{Name: "B", Ref: mustRef(t, "m:b")},
		{Name: "F", From: "--secret", Ref: mustRef(t, "m:fail")},
	})
	var re *Error
	if !errors.As(err, &re) || re.Name != "F" || !errors.Is(err, errBoom) {
		t.Fatalf("got %v, want the error of F", err)
	}
	if got, want := err.Error(), "--secret F (m:fail): boom"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// What was minted before the failure is in the registry, and undoing it leaves nothing.
	if reg.Len() != 2 {
		t.Fatalf("got %d registered undos, want 2", reg.Len())
	}
	if err := reg.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if n := src.minted.Load(); n != 0 {
		t.Errorf("got %d tokens left after cleanup, want 0", n)
	}
}

func TestResolveUnknownSchemeBeforeAnything(t *testing.T) {
	t.Parallel()
	src := &mintSource{started: make(chan struct{}, 10)}
	r := &Resolver{Sources: map[string]Source{"m": src, "env": src}}
	_, err := r.Resolve(context.Background(), []Request{
		{Name: "A", Ref: mustRef(t, "m:a")},
		{Name: "X", From: "--secret", Ref: mustRef(t, "nope:x")},
	})
	if err == nil || !strings.Contains(err.Error(), `--secret X: not a reference of a known scheme (known: env, m)`) || strings.Contains(err.Error(), "nope") {
		t.Fatalf("got %v", err)
	}
	if n := src.minted.Load(); n != 0 {
		t.Errorf("got %d minted, want 0: nothing may be resolved when a scheme is unknown", n)
	}
}

// checkingSource refuses references named "bad" without I/O.
type checkingSource struct{ mintSource }

func (s *checkingSource) Check(ref secret.Ref) error {
	if ref.Opaque == "bad" {
		return errors.New("malformed")
	}
	return nil
}

func TestResolveChecksEveryReferenceFirst(t *testing.T) {
	t.Parallel()
	minting := &mintSource{started: make(chan struct{}, 10)}
	r := &Resolver{Sources: map[string]Source{"m": minting, "c": &checkingSource{}}}
	_, err := r.Resolve(context.Background(), []Request{
		{Name: "A", Ref: mustRef(t, "m:a")},
		{Name: "B", From: "--secret", Ref: mustRef(t, "c:bad")},
	})
	if err == nil || err.Error() != "--secret B (c:bad): malformed" {
		t.Fatalf("got %v", err)
	}
	if n := minting.minted.Load(); n != 0 {
		t.Errorf("got %d minted, want 0: a malformed reference must stop everything before it starts", n)
	}
}

var errBoom = errors.New("boom")

// typedSource says what kind of token each reference is.
type typedSource struct{}

func (typedSource) Resolve(_ context.Context, ref secret.Ref) (Resolved, error) {
	return Resolved{Value: secret.NewValue("token-" + ref.Opaque), TokenType: ref.Opaque}, nil
}

func TestResolveCarriesTheTokenType(t *testing.T) {
	t.Parallel()
	r := &Resolver{Sources: map[string]Source{"t": typedSource{}}, Registry: &cleanup.Registry{}}
	got, err := r.Resolve(context.Background(), []Request{
		{Name: "A", Ref: mustRef(t, "t:pat")},
		{Name: "B", Ref: mustRef(t, "t:bearer")},
		{Name: "C", Literal: ptr(secret.NewValue("literal"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"pat", "bearer", ""} {
		if got[i].TokenType != want {
			t.Errorf("%s: token type %q, want %q", got[i].Name, got[i].TokenType, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestUnknownSchemeNeverRepeatsTheValue is issue 9, item 5: a credential typed where a
// reference belongs is named by its request, never repeated.
func TestUnknownSchemeNeverRepeatsTheValue(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"deploybot:Hunter2-SuperSecret", "postgres://admin:Hunter2@db", "bearer:eyJhbGciOiJIUzI1NiJ9.Hunter2"} {
		r := &Resolver{Sources: map[string]Source{"env": nil}}
		err := r.Check([]Request{{Name: "X", From: "--secret", Ref: mustRef(t, in)}})
		if err == nil || strings.Contains(err.Error(), "Hunter2") || strings.Contains(err.Error(), "deploybot") {
			t.Errorf("%q: got %v, want an error that does not repeat the value", in, err)
		}
		_, err = r.Credential(context.Background(), "ado-access-token", in)
		if err == nil || strings.Contains(err.Error(), "Hunter2") || strings.Contains(err.Error(), "deploybot") {
			t.Errorf("credential %q: got %v, want an error that does not repeat the value", in, err)
		}
	}
}
