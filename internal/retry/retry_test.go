package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 9: time.Second, 99: time.Second} {
		for range 50 {
			if got := Backoff(attempt, 100*time.Millisecond, time.Second); got < want/2 || got > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", attempt, got, want/2, want)
			}
		}
	}
}

func TestAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"Tue, 01 Dec 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Tue, 01 Dec 2026 09:00:00 GMT", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		if got, ok := After(tt.v, now); got != tt.want || ok != tt.ok {
			t.Errorf("After(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPolicyDo(t *testing.T) {
	transient := errors.New("transient")
	final := errors.New("final")
	p := Policy{Attempts: 4, Min: time.Millisecond, Max: 2 * time.Millisecond}
	calls := 0
	err := p.Do(t.Context(), func(context.Context) error { calls++; return transient }, func(e error) bool { return e == transient })
	if err != transient || calls != 4 {
		t.Errorf("a transient error: %v after %d calls, want 4", err, calls)
	}
	calls = 0
	err = p.Do(t.Context(), func(context.Context) error { calls++; return final }, func(e error) bool { return e == transient })
	if err != final || calls != 1 {
		t.Errorf("a final error: %v after %d calls, want 1", err, calls)
	}
	calls = 0
	err = p.Do(t.Context(), func(context.Context) error {
		calls++
		if calls < 3 {
			return transient
		}
		return nil
	}, func(e error) bool { return e == transient })
	if err != nil || calls != 3 {
		t.Errorf("success on the third: %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls = 0
	_ = Policy{Attempts: 4, Min: time.Hour, Max: time.Hour}.Do(ctx, func(context.Context) error { calls++; return transient }, func(error) bool { return true })
	if calls != 1 {
		t.Errorf("a cancelled context still waited for %d calls", calls)
	}
}
