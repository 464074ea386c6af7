// Package secret is the engine's core vocabulary: a reference to a secret and the secret's value.
// It is a leaf: it imports nothing of patinject's, so that every room can use it.
package secret

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Value holds secret bytes. It prints as *** through fmt, slog and JSON, so that a value that
// reaches a log line or an error by mistake does not leak; Reveal is the one way to read it.
type Value struct{ s string }

// NewValue wraps s.
func NewValue(s string) Value { return Value{s: s} }

// Reveal returns the secret itself. Call it only where the value is handed to its consumer.
func (v Value) Reveal() string { return v.s }

// Len is the value's length in bytes.
func (v Value) Len() int { return len(v.s) }

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool { return v.s == "" }

func (v Value) String() string               { return "***" }
func (v Value) GoString() string             { return "secret.Value(***)" }
func (v Value) Format(f fmt.State, _ rune)   { fmt.Fprint(f, "***") }
func (v Value) LogValue() slog.Value         { return slog.StringValue("***") }
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"***"`), nil }
func (v Value) MarshalText() ([]byte, error) { return []byte("***"), nil }

// Secret is a resolved value with what is known about it. Name is the environment variable it is
// exported as ("" for the --token credential before an injector names it).
type Secret struct {
	Name   string
	Value  Value
	Origin string    // where it came from, for logs: "env:CI_PAT", "vault://secret/ci#pat"
	Public bool      // marked not secret by the user: passed on, never redacted or masked
	Expiry time.Time // zero when unknown
	// TokenType is how the credential is presented, when its source says: "pat" (Basic auth,
	// any user name) or "bearer" (Authorization: Bearer); "" when it does not.
	TokenType string
	// Extend, when set, moves Expiry forward (see resolve.Resolved.Extend).
	Extend func(context.Context) (time.Time, error)
}
