package azuredevops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/patinject/patinject/source/adopat"
)

func (b *Backend) secretPAT() *framework.Secret {
	return &framework.Secret{
		Type: secretTypePAT,
		Fields: map[string]*framework.FieldSchema{
			"token":            {Type: framework.TypeString, Description: "The PAT."},
			"token_type":       {Type: framework.TypeString, Description: "pat: Basic auth with any user name."},
			"authorization_id": {Type: framework.TypeString, Description: "The PAT's id in the PAT lifecycle API."},
		},
		Renew:  b.renewPAT,
		Revoke: b.revokePAT,
	}
}

func (b *Backend) secretEntraToken() *framework.Secret {
	return &framework.Secret{
		Type: secretTypeEntra,
		Fields: map[string]*framework.FieldSchema{
			"token":      {Type: framework.TypeString, Description: "The Entra access token."},
			"token_type": {Type: framework.TypeString, Description: "bearer."},
		},
		// Entra access tokens cannot be revoked: the lease ends when the token does.
		Revoke: func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
			return nil, nil
		},
	}
}

// internal reads the lease's internal data (numbers arrive as json.Number or float64).
func internalString(req *logical.Request, k string) string {
	s, _ := req.Secret.InternalData[k].(string)
	return s
}

func internalSeconds(req *logical.Request, k string) time.Duration {
	switch v := req.Secret.InternalData[k].(type) {
	case json.Number:
		n, _ := v.Int64()
		return time.Duration(n) * time.Second
	case float64:
		return time.Duration(v) * time.Second
	case int64:
		return time.Duration(v) * time.Second
	case int:
		return time.Duration(v) * time.Second
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return time.Duration(n) * time.Second
	}
	return 0
}

// gone reports whether err says that the PAT no longer exists to be revoked.
func gone(err error) bool {
	var te *adopat.TokenError
	var he *adopat.HTTPError
	return (errors.As(err, &te) && (te.Code == "authorizationNotFound" || te.Code == "tokenNotFound")) ||
		(errors.As(err, &he) && he.Status == http.StatusNotFound)
}

// revokePAT revokes the PAT of a lease through the tokens API, then forgets its record. An error
// makes Vault try again later.
func (b *Backend) revokePAT(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	id, org := internalString(req, "authorization_id"), internalString(req, "organization")
	if !adopat.IsAuthorizationID(id) || org == "" {
		return nil, fmt.Errorf("the lease names no PAT (authorization_id %q, organization %q)", id, org)
	}
	c, err := getConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil || !c.delegated() {
		return nil, fmt.Errorf("revoking PAT %s in %s needs a delegated config (a user's refresh_token), and there is none: write it back to config", id, org)
	}
	if err := b.adoClient(req.Storage, c).Revoke(ctx, org, id); err != nil && !gone(err) {
		return nil, fmt.Errorf("revoking PAT %s in %s: %w", id, org, err)
	}
	b.Logger().Debug("revoked a PAT", "organization", org, "authorization_id", id)
	return nil, req.Storage.Delete(ctx, "pats/"+id)
}

// renewPAT extends the lease by the role's ttl (or the increment asked), never past max_ttl from
// the lease's issue, and moves the PAT's own expiry with it.
func (b *Backend) renewPAT(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	id, org := internalString(req, "authorization_id"), internalString(req, "organization")
	ttl, maxTTL := internalSeconds(req, "ttl"), internalSeconds(req, "max_ttl")
	if !adopat.IsAuthorizationID(id) || org == "" || ttl <= 0 || maxTTL <= 0 {
		return nil, fmt.Errorf("the lease names no PAT to renew")
	}
	now := b.now()
	issued := req.Secret.IssueTime
	if issued.IsZero() {
		issued = now
	}
	end := issued.Add(maxTTL)
	left := end.Sub(now).Truncate(time.Second)
	if left <= 0 {
		return nil, fmt.Errorf("the lease has reached its max_ttl (%s): read creds/%s for a new PAT", maxTTL, internalString(req, "role"))
	}
	want := ttl
	if req.Secret.Increment > 0 {
		want = req.Secret.Increment
	}
	want = min(want, left)
	c, err := getConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil || !c.delegated() {
		return nil, fmt.Errorf("renewing PAT %s needs a delegated config (a user's refresh_token), and there is none", id)
	}
	if _, err := b.adoClient(req.Storage, c).Extend(ctx, org, id, now.Add(want+patGrace)); err != nil {
		if gone(err) {
			return nil, fmt.Errorf("PAT %s no longer exists in %s (revoked outside Vault?): read a new one", id, org)
		}
		return b.upstreamError(fmt.Sprintf("extending PAT %s in %s", id, org), err)
	}
	if rec, err := getRecord(ctx, req.Storage, id); err == nil && rec != nil {
		rec.LeaseExpiry = now.Add(want)
		if err := putRecord(ctx, req.Storage, rec); err != nil {
			b.Logger().Warn("updating the record of a renewed PAT failed", "authorization_id", id, "error", err)
		}
	}
	resp := &logical.Response{Secret: req.Secret}
	resp.Secret.TTL = want
	resp.Secret.MaxTTL = maxTTL
	return resp, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
