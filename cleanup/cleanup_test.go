package cleanup

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRunLIFOSkipsExpiredReportsFailures(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	r := &Registry{now: func() time.Time { return now }}
	var order []string
	add := func(id string, expiry time.Time, err error) {
		r.Add(Action{Kind: "test", ID: id, Expiry: expiry, Manual: "undo " + id}, func(context.Context) error {
			order = append(order, id)
			return err
		})
	}
	add("first", time.Time{}, nil)
	add("expired", now.Add(-time.Minute), nil)
	add("failing", now.Add(time.Hour), errors.New("server said no"))
	add("last", time.Time{}, nil)

	var skipped []string
	err := r.Run(context.Background(), func(a Action) { skipped = append(skipped, a.ID) })

	if got, want := strings.Join(order, ","), "last,failing,first"; got != want {
		t.Errorf("undo order: got %q, want %q", got, want)
	}
	if got, want := strings.Join(skipped, ","), "expired"; got != want {
		t.Errorf("skipped: got %q, want %q", got, want)
	}
	var f *Failure
	if !errors.As(err, &f) || f.Action.ID != "failing" {
		t.Fatalf("got %v, want the failure of 'failing'", err)
	}
	if got, want := f.Error(), "could not undo test failing: server said no; undo it by hand: undo failing"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if r.Len() != 0 {
		t.Errorf("registry not emptied: %d left", r.Len())
	}
	if err := r.Run(context.Background(), nil); err != nil {
		t.Errorf("second run: got %v, want nothing to do", err)
	}
}
