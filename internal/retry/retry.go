// Package retry is the one place patinject waits between attempts: exponential backoff with
// jitter, a server's Retry-After, and a bounded loop over attempts. The Azure DevOps client, the
// Vault revocations and the CI ID-token requests all retry through it.
package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is the wait before attempt+1 (attempts count from 1): exponential from lo, capped at
// hi, with full jitter in its upper half.
func Backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo << min(max(attempt-1, 0), 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}

// After reads a Retry-After header (RFC 9110 10.2.3): delay-seconds, or an HTTP date.
func After(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Wait waits d, or until ctx ends, whose error it then returns.
func Wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Policy bounds a retry loop: at most Attempts tries, waiting Backoff(attempt, Min, Max)
// between them.
type Policy struct {
	Attempts int
	Min, Max time.Duration
}

// Do calls try until it succeeds, fails with an error again says is final, the attempts are used
// up, or ctx ends; it returns try's last error.
func (p Policy) Do(ctx context.Context, try func(ctx context.Context) error, again func(error) bool) error {
	for attempt := 1; ; attempt++ {
		err := try(ctx)
		if err == nil || !again(err) || attempt >= p.Attempts {
			return err
		}
		if Wait(ctx, Backoff(attempt, p.Min, p.Max)) != nil {
			return err
		}
	}
}
