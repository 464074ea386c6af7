package frontdoor

import (
	"context"
	"sync"
	"time"

	"github.com/patinject/patinject/secret"
)

// keepAlive extends, for as long as the command runs, each credential whose source can move
// its expiry (a PAT that ado-pat:// minted): shortly before it expires, by its original
// lifetime. The value stays the same, so every place it was handed (variables, configuration
// files, git's extraheader) keeps working in a job longer than ttl=. stop ends it and waits:
// `run` calls it when the command has exited, before the revocation.
func (s *session) keepAlive(r resolved) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	all := r.secrets
	if r.token != nil {
		all = append([]secret.Secret{*r.token}, all...)
	}
	seen := map[string]bool{}
	for _, sec := range all {
		if sec.Extend == nil || sec.Expiry.IsZero() || seen[sec.Origin] {
			continue
		}
		seen[sec.Origin] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.keep(ctx, sec, time.Now)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// keep extends sec when a quarter of its lifetime (5 minutes at most) is left; after a failure
// it warns and tries again halfway to the expiry, but not sooner than retryFloor, and gives up
// when less than that is left.
// retryFloor is the least time between two attempts to extend after a failure.
const retryFloor = 30 * time.Second

func (s *session) keep(ctx context.Context, sec secret.Secret, now func() time.Time) {
	exp := sec.Expiry
	margin := min(5*time.Minute, exp.Sub(now())/4)
	next := exp.Add(-margin)
	for {
		t := time.NewTimer(max(next.Sub(now()), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		left := exp.Sub(now())
		if left <= 0 {
			s.p.Warnf("%s (%s) expired at %s while the command ran: extending it failed", sec.Name, sec.Origin, exp.UTC().Format(time.RFC3339))
			return
		}
		ectx, cancel := context.WithTimeout(ctx, left)
		newExp, err := sec.Extend(ectx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.p.Warnf("%s (%s) expires at %s and could not be extended (trying again): %v", sec.Name, sec.Origin, exp.UTC().Format(time.RFC3339), err)
			left := exp.Sub(now())
			if left < 2*retryFloor {
				return // one warning per attempt is enough; the expiry is said in the last one
			}
			next = now().Add(max(left/2, retryFloor))
			continue
		}
		s.log.Debug("extended", "name", sec.Name, "ref", sec.Origin, "until", newExp.UTC().Format(time.RFC3339))
		margin = min(5*time.Minute, newExp.Sub(now())/4)
		exp, next = newExp, newExp.Add(-margin)
	}
}
