package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	rtry "github.com/patinject/patinject/internal/retry"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/cleanup"
)

// Revocations are repeated on transient errors (no answer, 5xx, 429), a bounded number of times.
const (
	revokeAttempts = 4
	revokeBackoff  = 250 * time.Millisecond
)

func retry(ctx context.Context, f func(context.Context) error) error {
	return rtry.Policy{Attempts: revokeAttempts, Min: revokeBackoff, Max: 8 * revokeBackoff}.Do(ctx, f, transient)
}

// revokeLease revokes one lease and waits until the engine has taken it back (sync). A lease
// that is already gone counts as revoked.
// renewLease asks Vault for increment more seconds of the lease id (sys/leases/renew), first
// renewing patinject's own login token (a lease dies with the token it was read with), and
// journals the new expiry. Vault may grant less (the role's max_ttl): the expiry it answers
// is returned; none at all is an error.
func (s *session) renewLease(ctx context.Context, id string, increment int) (time.Time, error) {
	if s.loggedIn {
		if _, err := s.client.Auth().Token().RenewSelfWithContext(ctx, 0); err != nil {
			s.log.Debug("vault: the login token was not renewed", "err", err)
		}
	}
	var sec *api.Secret
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		sec, err = s.client.Logical().WriteWithContext(ctx, "sys/leases/renew", map[string]any{"lease_id": id, "increment": increment})
		return err
	})
	if err != nil {
		return time.Time{}, s.describe("renew lease", id, lacks("update", "sys/leases/renew"), err)
	}
	if sec == nil || sec.LeaseDuration <= 0 {
		return time.Time{}, fmt.Errorf("vault: lease %s: Vault granted no more time (the role's max_ttl is reached)", id)
	}
	exp := time.Now().Add(time.Duration(sec.LeaseDuration) * time.Second)
	s.mu.Lock()
	e := s.leaseLog[id]
	s.mu.Unlock()
	e.Created(id, exp)
	s.log.Debug("vault: lease renewed", "lease", id, "ttl", time.Duration(sec.LeaseDuration)*time.Second)
	return exp, nil
}

func (s *session) revokeLease(ctx context.Context, id string) error {
	err := retry(ctx, func(ctx context.Context) error {
		_, err := s.client.Logical().WriteWithContext(ctx, "sys/leases/revoke", map[string]any{"lease_id": id, "sync": true})
		return err
	})
	if err != nil {
		return err
	}
	s.log.Debug("vault: lease revoked", "lease", id)
	return s.verifyLeaseRevoked(ctx, id)
}

func (s *session) say(msg string) {
	if s.progress != nil {
		s.progress(msg)
	}
}

// verifyLeaseRevoked checks that Vault no longer knows the lease. A policy without
// sys/leases/lookup cannot check; the revocation was synchronous (sync=true), so Vault answered
// only once the engine had taken the secret back, and that is what is said.
func (s *session) verifyLeaseRevoked(ctx context.Context, id string) error {
	_, err := s.client.Logical().WriteWithContext(ctx, "sys/leases/lookup", map[string]any{"lease_id": id})
	switch {
	case err == nil:
		return fmt.Errorf("vault: revocation of lease %s not verified: Vault still knows the lease after revoking it; revoke it by hand: vault lease revoke %s", id, id)
	case statusOf(err) == 400:
		s.say(fmt.Sprintf("revoked Vault lease %s: verified, Vault no longer knows it", id))
	default:
		s.say(fmt.Sprintf("revoked Vault lease %s: Vault answered once the engine had revoked it (sync); the policy does not allow sys/leases/lookup to check further", id))
	}
	return nil
}

// verifySelfRevoked checks that the token just revoked is refused: a lookup of itself with it
// must fail.
func (s *session) verifySelfRevoked(ctx context.Context, what string) error {
	if _, err := s.client.Auth().Token().LookupSelfWithContext(ctx); err == nil {
		return fmt.Errorf("vault: revocation of %s not verified: the token still works after revoking it", what)
	}
	s.say(fmt.Sprintf("revoked %s: verified, Vault refuses it", what))
	return nil
}

func (s *session) revokeSelf(ctx context.Context) error {
	return s.client.Auth().Token().RevokeSelfWithContext(ctx, "")
}

// unknownAccessor reports whether err is Vault saying it knows no token with that accessor.
func unknownAccessor(err error) bool {
	re, ok := asResponseError(err)
	return ok && re.StatusCode == 400 && strings.Contains(strings.Join(re.Errors, " "), "invalid accessor")
}

// revokeAccessor revokes the token with the given accessor, and so its leases. A token that is
// already gone counts as revoked.
func (s *session) revokeAccessor(ctx context.Context, accessor string) error {
	err := retry(ctx, func(ctx context.Context) error {
		_, err := s.client.Logical().WriteWithContext(ctx, "auth/token/revoke-accessor", map[string]any{"accessor": accessor})
		return err
	})
	if unknownAccessor(err) {
		return nil
	}
	if err != nil {
		return err
	}
	_, lerr := s.client.Logical().WriteWithContext(ctx, "auth/token/lookup-accessor", map[string]any{"accessor": accessor})
	switch {
	case lerr == nil:
		return fmt.Errorf("vault: revocation of the token with accessor %s not verified: Vault still knows it", accessor)
	case statusOf(lerr) == 400:
		s.say(fmt.Sprintf("revoked the Vault token with accessor %s: verified, Vault no longer knows it", accessor))
	default:
		s.say(fmt.Sprintf("revoked the Vault token with accessor %s: Vault answered the revocation; the policy does not allow auth/token/lookup-accessor to check", accessor))
	}
	return nil
}

// Undoer takes back, in a later process, what `inject` recorded: leases (KindLease) and the
// token it logged in with (KindToken). `inject` must not revoke its login token when it exits,
// since later steps of the job use the leases read with it; so it records the token's accessor
// instead (never the token), and `cleanup` logs in again with the same flags and revokes
// the leases by id (sys/leases/revoke) and the old token by accessor
// (auth/token/revoke-accessor), which takes any lease left. The policy of the login must allow
// those two paths; where it does not, the token and its leases end at the token's TTL, and the
// failure names the accessor and the command a person can run. The fresh token of each undo
// is revoked (revoke-self) before Undo returns.
type Undoer struct {
	Login  Login
	Env    func(string) (string, bool)
	Config func() *api.Config
	Log    *slog.Logger
}

// Undo undoes one recorded action of kind KindLease or KindToken.
func (u *Undoer) Undo(ctx context.Context, act cleanup.Action) (err error) {
	log := u.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if act.Kind != KindLease && act.Kind != KindToken {
		return fmt.Errorf("vault: cannot undo %s", act)
	}
	// The address is the environment's (VAULT_ADDR), never the state's: a state that names
	// another server is refused, with both named, before any credential is read or sent.
	sess, err := open(u.Config, u.Env, "", act.Params["namespace"], log)
	if err != nil {
		return err
	}
	if err := cleanup.CheckEndpoint("VAULT_ADDR", act.Params["addr"], sess.addr); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	sess.progress = u.Login.Progress
	if err := sess.login(ctx, u.Login, u.Env, nil); err != nil {
		if m := act.Params["method"]; m != "" && m != u.Login.method() {
			return fmt.Errorf("%w (inject logged in with --vault-auth %s; cleanup needs the same --vault-* flags)", err, m)
		}
		return fmt.Errorf("%w (cleanup logs in with the same --vault-* flags as inject)", err)
	}
	if sess.loggedIn {
		defer func() {
			if rerr := retry(ctx, sess.revokeSelf); rerr != nil {
				err = errors.Join(err, sess.describe("revoke the token cleanup logged in with", "accessor "+sess.accessor, lacks("update", "auth/token/revoke-self"), rerr))
			}
		}()
	}
	if act.Unsealed {
		return sess.undoUnsealed(ctx, act)
	}
	switch act.Kind {
	case KindLease:
		lerr := sess.revokeLease(ctx, act.ID)
		if lerr == nil {
			return nil
		}
		if acc := act.Params["token_accessor"]; acc != "" && statusOf(lerr) == 403 {
			// Not allowed to revoke the lease alone: revoking its login token takes it along.
			aerr := sess.revokeAccessor(ctx, acc)
			if aerr == nil {
				log.Debug("vault: lease revoked with its login token", "lease", act.ID, "accessor", acc)
				return nil
			}
			return fmt.Errorf("%w; nor its login token (accessor %s): %w",
				sess.describe("revoke lease", act.ID, lacks("update", "sys/leases/revoke"), lerr), acc,
				sess.describe("revoke token accessor", acc, lacks("update", "auth/token/revoke-accessor"), aerr))
		}
		return sess.describe("revoke lease", act.ID, lacks("update", "sys/leases/revoke"), lerr)
	default:
		if err := sess.revokeAccessor(ctx, act.ID); err != nil {
			return sess.describe("revoke token accessor", act.ID, lacks("update", "auth/token/revoke-accessor"), err)
		}
		log.Debug("vault: login token of inject revoked", "accessor", act.ID)
		return nil
	}
}

// undoUnsealed undoes an action no seal vouches for (a journal a later build step could have
// written, to have patinject revoke what is not its own). Vault cannot say whose a lease is, but
// it can say whose a token is: only a token of the identity (entity) this undo logged in as is
// revoked, by its accessor, and a lease only through such a token, which takes its leases
// with it; never a lease by its id alone.
func (s *session) undoUnsealed(ctx context.Context, act cleanup.Action) error {
	acc := act.ID
	if act.Kind == KindLease {
		acc = act.Params["token_accessor"]
		if acc == "" {
			return &cleanup.LeftAlone{Why: fmt.Sprintf("Vault lease %s: no seal vouches for it and it names no login token to confirm it by: left alone until its TTL (revoke it by hand if it is yours: vault lease revoke %s)", act.ID, act.ID)}
		}
	}
	gone, err := s.confirmOwnToken(ctx, acc)
	if err != nil || gone {
		if act.Kind == KindLease && gone {
			s.say(fmt.Sprintf("revoked Vault lease %s: its login token (accessor %s) is gone, and the lease with it", act.ID, acc))
		}
		return err
	}
	if err := s.revokeAccessor(ctx, acc); err != nil {
		return s.describe("revoke token accessor", acc, lacks("update", "auth/token/revoke-accessor"), err)
	}
	if act.Kind == KindLease {
		s.say(fmt.Sprintf("revoked Vault lease %s with its login token (accessor %s)", act.ID, acc))
	}
	return nil
}

// confirmOwnToken checks that the token with this accessor belongs to the identity this
// session logged in as. gone is true when Vault no longer knows the accessor.
func (s *session) confirmOwnToken(ctx context.Context, acc string) (gone bool, err error) {
	if s.entityID == "" {
		return false, &cleanup.LeftAlone{Why: fmt.Sprintf("the Vault token with accessor %s: no seal vouches for it, and this login has no identity (entity) to compare it with: left alone until its TTL", acc)}
	}
	sec, err := s.client.Logical().WriteWithContext(ctx, "auth/token/lookup-accessor", map[string]any{"accessor": acc})
	if unknownAccessor(err) {
		return true, nil
	}
	if err != nil {
		return false, s.describe("look up token accessor", acc+" (to confirm it is patinject's before revoking it on an unsealed record's word)", lacks("update", "auth/token/lookup-accessor"), err)
	}
	var ent string
	if sec != nil {
		ent, _ = sec.Data["entity_id"].(string)
	}
	if ent != s.entityID {
		return false, &cleanup.LeftAlone{Why: fmt.Sprintf("the Vault token with accessor %s is not of the identity this cleanup logged in as: left alone", acc)}
	}
	return false, nil
}
