package azuredevops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/mitchellh/mapstructure"
)

const (
	walKindPAT = "pat"
	// walMinAge is how old a mint's WAL entry must be before Vault rolls it back: far longer
	// than a mint takes, retries included.
	walMinAge = 5 * time.Minute
	// tidyGrace is how long past its lease's end a recorded PAT, or past its creation an
	// unrecorded one, is left alone: Vault's own revocation, or a mint in flight, comes first.
	tidyGrace = 5 * time.Minute
)

// walPAT is the WAL entry of a mint: the name is unique to it.
type walPAT struct {
	Organization string    `json:"organization" mapstructure:"organization"`
	DisplayName  string    `json:"display_name" mapstructure:"display_name"`
	At           time.Time `json:"at" mapstructure:"-"`
}

// walRollback revokes what a mint that never finished may have created: every PAT with the WAL
// entry's display name that has no record (a recorded one belongs to a lease).
func (b *Backend) walRollback(ctx context.Context, req *logical.Request, kind string, data any) error {
	if kind != walKindPAT {
		return nil
	}
	var w walPAT
	if err := mapstructure.Decode(data, &w); err != nil {
		return err
	}
	if w.Organization == "" || w.DisplayName == "" {
		return nil
	}
	c, err := getConfig(ctx, req.Storage)
	if err != nil {
		return err
	}
	if c == nil || !c.delegated() {
		return nil // nothing can be listed or revoked any more
	}
	client := b.adoClient(req.Storage, c)
	pats, err := client.ListAll(ctx, w.Organization, "active")
	if err != nil {
		return err
	}
	for _, p := range pats {
		if p.DisplayName != w.DisplayName {
			continue
		}
		if rec, err := getRecord(ctx, req.Storage, p.AuthorizationID); err != nil {
			return err
		} else if rec != nil {
			continue
		}
		if err := client.Revoke(ctx, w.Organization, p.AuthorizationID); err != nil && !gone(err) {
			return err
		}
		b.Logger().Info("rolled back a PAT of an unfinished mint", "organization", w.Organization, "authorization_id", p.AuthorizationID)
	}
	return nil
}

func (b *Backend) pathTidy() *framework.Path {
	return &framework.Path{
		Pattern: "tidy",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.tidyWrite},
		},
		HelpSynopsis: "Revoke this engine's PATs whose lease is gone, now (also done every tidy_interval).",
	}
}

func (b *Backend) tidyWrite(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	res, err := b.tidy(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"expired_leases": res.expired,
		"untracked":      res.untracked,
		"organizations":  res.orgs,
	}}, nil
}

// periodic runs tidy every tidy_interval on the node that may write.
func (b *Backend) periodic(ctx context.Context, req *logical.Request) error {
	if !b.WriteSafeReplicationState() {
		return nil
	}
	c, err := getConfig(ctx, req.Storage)
	if err != nil || c == nil || !c.delegated() {
		return err
	}
	b.tidyMu.Lock()
	due := b.now().Sub(b.lastTidy) >= c.tidyInterval()
	b.tidyMu.Unlock()
	if !due {
		return nil
	}
	_, err = b.tidy(ctx, req.Storage)
	return err
}

type tidyResult struct {
	expired, untracked int
	orgs               []string
}

// tidy revokes the PATs of this engine whose lease is gone: recorded PATs whose lease ended more
// than tidyGrace ago (Vault could not revoke them), and PATs carrying this engine's tag that have
// no record and no mint in flight (a lost answer, a restored backup). It looks in every
// organisation a role or a record names.
func (b *Backend) tidy(ctx context.Context, s logical.Storage) (tidyResult, error) {
	b.tidyMu.Lock()
	defer b.tidyMu.Unlock()
	b.lastTidy = b.now()
	var res tidyResult
	c, err := getConfig(ctx, s)
	if err != nil || c == nil || !c.delegated() {
		return res, err
	}
	id, err := engineID(ctx, s)
	if err != nil {
		return res, err
	}
	client := b.adoClient(s, c)
	now := b.now()
	orgs := map[string]bool{}
	recorded := map[string]bool{}
	var errs []error

	ids, err := s.List(ctx, "pats/")
	if err != nil {
		return res, err
	}
	for _, pid := range ids {
		rec, err := getRecord(ctx, s, pid)
		if err != nil || rec == nil {
			errs = append(errs, err)
			continue
		}
		orgs[rec.Organization] = true
		if now.Before(rec.LeaseExpiry.Add(tidyGrace)) {
			recorded[strings.ToLower(pid)] = true
			continue
		}
		if err := client.Revoke(ctx, rec.Organization, pid); err != nil && !gone(err) {
			recorded[strings.ToLower(pid)] = true
			errs = append(errs, fmt.Errorf("revoking PAT %s of an ended lease: %w", pid, err))
			continue
		}
		if err := s.Delete(ctx, "pats/"+pid); err != nil {
			errs = append(errs, err)
		}
		res.expired++
		b.Logger().Info("tidy: revoked a PAT whose lease ended", "organization", rec.Organization, "authorization_id", pid)
	}

	roles, err := s.List(ctx, "roles/")
	if err != nil {
		return res, err
	}
	for _, n := range roles {
		if r, err := getRole(ctx, s, n); err == nil && r != nil && r.CredentialType == TypePAT {
			orgs[r.Organization] = true
		}
	}
	inFlight, err := walNames(ctx, s)
	if err != nil {
		return res, err
	}

	prefix := tagPrefix(id)
	for org := range orgs {
		res.orgs = append(res.orgs, org)
		pats, err := client.ListAll(ctx, org, "active")
		if err != nil {
			errs = append(errs, fmt.Errorf("listing the PATs of %s: %w", org, err))
			continue
		}
		for _, p := range pats {
			if !strings.HasPrefix(p.DisplayName, prefix) || recorded[strings.ToLower(p.AuthorizationID)] || inFlight[p.DisplayName] {
				continue
			}
			if !p.ValidFrom.IsZero() && now.Sub(p.ValidFrom) < tidyGrace {
				continue // a mint may be between its create and its record
			}
			if rec, err := getRecord(ctx, s, p.AuthorizationID); err != nil || rec != nil {
				continue // recorded since the list above
			}
			if err := client.Revoke(ctx, org, p.AuthorizationID); err != nil && !gone(err) {
				errs = append(errs, fmt.Errorf("revoking untracked PAT %s: %w", p.AuthorizationID, err))
				continue
			}
			res.untracked++
			b.Logger().Info("tidy: revoked a PAT of this engine that no lease holds", "organization", org, "authorization_id", p.AuthorizationID)
		}
	}
	sort.Strings(res.orgs)
	return res, errors.Join(errs...)
}

// walNames are the display names of the mints in flight.
func walNames(ctx context.Context, s logical.Storage) (map[string]bool, error) {
	ids, err := framework.ListWAL(ctx, s)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, id := range ids {
		e, err := framework.GetWAL(ctx, s, id)
		if err != nil || e == nil || e.Kind != walKindPAT {
			continue
		}
		var w walPAT
		if mapstructure.Decode(e.Data, &w) == nil && w.DisplayName != "" {
			out[w.DisplayName] = true
		}
	}
	return out, nil
}

func (b *Backend) pathRotateRoot() *framework.Path {
	return &framework.Path{
		Pattern: "rotate-root",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.rotateRoot},
		},
		HelpSynopsis: "Redeem the stored refresh token now and keep the new one Entra returns.",
	}
}

func (b *Backend) rotateRoot(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := getConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return logical.ErrorResponse(errNoConfig.Error()), nil
	}
	if !c.delegated() {
		return logical.ErrorResponse("rotate-root rotates a user's refresh token; this config holds a client secret, which Entra does not rotate on use: make a new secret in Entra and write it to config"), nil
	}
	if _, _, err := b.accessToken(ctx, req.Storage, true); err != nil {
		return b.upstreamError("rotate-root", err)
	}
	c, err = getConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"credential": c.kind()}
	if !c.RotatedAt.IsZero() {
		data["refresh_token_rotated_at"] = c.RotatedAt.Format(time.RFC3339)
	}
	resp := &logical.Response{Data: data}
	if c.RotatedAt.IsZero() || b.now().Sub(c.RotatedAt) > time.Minute {
		resp.AddWarning("Entra returned no new refresh token (the application was not granted offline_access?); the stored one is unchanged")
	}
	return resp, nil
}
