package azuredevops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/adopat"
)

// Secret types (the lease's kind).
const (
	secretTypePAT   = "azuredevops_pat"
	secretTypeEntra = "azuredevops_entra_token"
)

// Token kinds in a creds response: how a client presents the token.
const (
	TokenTypePAT    = "pat"    // Basic auth, any user name, the PAT as password
	TokenTypeBearer = "bearer" // Authorization: Bearer
)

// patRecord is stored at pats/ID while a PAT's lease lives: tidy revokes what has none.
type patRecord struct {
	Organization    string    `json:"organization"`
	Role            string    `json:"role"`
	DisplayName     string    `json:"display_name"`
	LeaseExpiry     time.Time `json:"lease_expiry"`
	MaxExpiry       time.Time `json:"max_expiry"`
	AuthorizationID string    `json:"authorization_id"`
}

func (b *Backend) pathCreds() *framework.Path {
	return &framework.Path{
		Pattern: "creds/" + framework.GenericNameRegex("name"),
		Fields: map[string]*framework.FieldSchema{
			"name": {Type: framework.TypeLowerCaseString, Description: "Role name.", Required: true},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: &framework.PathOperation{Callback: b.credsRead},
		},
		HelpSynopsis: "A new leased credential for the role: token, token_type (pat or bearer), authorization_id (PATs).",
	}
}

func (b *Backend) credsRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	r, err := getRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("no role %q: write roles/%s first", name, name), nil
	}
	c, err := getConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return logical.ErrorResponse(errNoConfig.Error()), nil
	}
	switch r.CredentialType {
	case TypePAT:
		if !c.delegated() {
			return logical.ErrorResponse("role %q mints PATs, but config holds a service principal's client_secret: Azure DevOps lets only users mint PATs; write a user's refresh_token to config, or make the role credential_type=entra_token", name), nil
		}
		return b.mintPAT(ctx, req, c, name, r)
	case TypeEntraToken:
		return b.entraToken(ctx, req, name, r)
	}
	return logical.ErrorResponse("role %q has credential_type %q: want pat or entra_token", name, r.CredentialType), nil
}

// leaseTTLs are the role's TTLs within the mount's limits.
func (b *Backend) leaseTTLs(r *role) (ttl, maxTTL time.Duration) {
	ttl, maxTTL = r.ttl(), r.maxTTL()
	if sysMax := b.System().MaxLeaseTTL(); sysMax > 0 && maxTTL > sysMax {
		maxTTL = sysMax
	}
	return min(ttl, maxTTL), maxTTL
}

// adoClient is a PAT API client that authenticates with the config's access token, asking Entra
// for a fresh one when Azure DevOps refuses the cached one.
func (b *Backend) adoClient(s logical.Storage, c *config) *adopat.Client {
	calls := 0
	return &adopat.Client{
		BaseURL:   c.ADOURL,
		HTTP:      b.httpClient(),
		UserAgent: "vault-plugin-secrets-azuredevops",
		RetryFor:  orDefault(b.RetryFor, 10*time.Second),
		Auth: &adopat.AccessToken{
			Now: b.now,
			Fetch: func(ctx context.Context) (secret.Value, error) {
				calls++
				tok, _, err := b.accessToken(ctx, s, calls > 1)
				return secret.NewValue(tok), err
			},
		},
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// mintPAT creates a PAT for the role, records it and returns it under a lease. A WAL entry
// covers the time between the create and the record: should the engine die there, Vault's
// rollback revokes the PAT.
func (b *Backend) mintPAT(ctx context.Context, req *logical.Request, c *config, roleName string, r *role) (*logical.Response, error) {
	id, err := engineID(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	base, err := renderName(r.DisplayNameTemplate, nameData{RoleName: roleName, DisplayName: req.DisplayName, Organization: r.Organization})
	if err != nil {
		return logical.ErrorResponse("role %q: display_name_template: %s", roleName, err), nil
	}
	// A random suffix makes every name unique to one mint, which the WAL rollback relies on.
	display := truncateRunes(tagPrefix(id)+base, 240) + " " + randomHex(4)

	ttl, maxTTL := b.leaseTTLs(r)
	now := b.now()
	walID, err := framework.PutWAL(ctx, req.Storage, walKindPAT, &walPAT{Organization: r.Organization, DisplayName: display, At: now})
	if err != nil {
		return nil, err
	}
	client := b.adoClient(req.Storage, c)
	pat, err := client.Create(ctx, r.Organization, adopat.CreateRequest{
		DisplayName: display,
		Scopes:      r.Scopes,
		ValidTo:     now.Add(ttl + patGrace),
	})
	if err != nil {
		if definite(err) {
			_ = framework.DeleteWAL(ctx, req.Storage, walID)
		}
		return b.upstreamError(fmt.Sprintf("role %q: minting a PAT in %s", roleName, r.Organization), err)
	}
	rec := patRecord{
		Organization: r.Organization, Role: roleName, DisplayName: display, AuthorizationID: pat.AuthorizationID,
		LeaseExpiry: now.Add(ttl), MaxExpiry: now.Add(maxTTL),
	}
	if err := putRecord(ctx, req.Storage, &rec); err != nil {
		if rerr := client.Revoke(context.WithoutCancel(ctx), r.Organization, pat.AuthorizationID); rerr == nil {
			_ = framework.DeleteWAL(ctx, req.Storage, walID)
		}
		return nil, fmt.Errorf("storing the record of PAT %s: %w", pat.AuthorizationID, err)
	}
	if err := framework.DeleteWAL(ctx, req.Storage, walID); err != nil {
		b.Logger().Warn("deleting the WAL entry of a mint failed; its rollback will keep the recorded PAT", "authorization_id", pat.AuthorizationID, "error", err)
	}
	b.Logger().Debug("minted a PAT", "role", roleName, "organization", r.Organization, "authorization_id", pat.AuthorizationID, "ttl", ttl)

	resp := b.Secret(secretTypePAT).Response(map[string]any{
		"token":            pat.Token.Reveal(),
		"token_type":       TokenTypePAT,
		"authorization_id": pat.AuthorizationID,
		"organization":     r.Organization,
		"scopes":           strings.Join(r.Scopes, " "),
		"display_name":     pat.DisplayName,
		"valid_to":         pat.ValidTo.UTC().Format(time.RFC3339),
	}, map[string]any{
		"authorization_id": pat.AuthorizationID,
		"organization":     r.Organization,
		"role":             roleName,
		"ttl":              int64(ttl.Seconds()),
		"max_ttl":          int64(maxTTL.Seconds()),
	})
	resp.Secret.TTL = ttl
	resp.Secret.MaxTTL = maxTTL
	return resp, nil
}

// definite reports whether err says for sure that no PAT was created (a refusal, or no access
// token to ask with), so that the mint's WAL entry has nothing to roll back.
func definite(err error) bool {
	var te *adopat.TokenError
	var he *adopat.HTTPError
	var ee *EntraError
	return errors.As(err, &te) || errors.As(err, &ee) || errors.Is(err, errNoConfig) ||
		(errors.As(err, &he) && he.Status >= 400 && he.Status < 500)
}

// upstreamError turns a failure of Entra or Azure DevOps into Vault's answer: throttling is
// passed on as 429, a refusal the operator must fix as 400 with what to change, anything else
// as 502.
func (b *Backend) upstreamError(what string, err error) (*logical.Response, error) {
	var te *adopat.TokenError
	var he *adopat.HTTPError
	var ee *EntraError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusTooManyRequests,
		errors.As(err, &ee) && ee.Status == http.StatusTooManyRequests:
		return nil, logical.CodedError(http.StatusTooManyRequests, what+": "+err.Error())
	case errors.As(err, &te) && te.Code == "patLifespanPolicyViolation":
		return logical.ErrorResponse("%s: the organisation's policy caps the lifetime of PATs below this role's ttl (plus %s): lower the role's ttl and max_ttl to the organisation's maximum PAT lifespan (Azure DevOps: %s)", what, patGrace, te.Code), nil
	case errors.As(err, &te) && te.Code == "invalidScope":
		return logical.ErrorResponse("%s: Azure DevOps refused a scope of the role: rewrite the role's scopes (%s)", what, te.Code), nil
	case errors.As(err, &te):
		return logical.ErrorResponse("%s: Azure DevOps refused it: %s", what, strings.ReplaceAll(te.Error(), "ttl=", "the role's ttl ")), nil
	case errors.As(err, &ee) && ee.Err == nil && ee.Status >= 400 && ee.Status < 500:
		return logical.ErrorResponse("%s: %s", what, ee.Error()), nil
	}
	return nil, logical.CodedError(http.StatusBadGateway, what+": "+err.Error())
}

func putRecord(ctx context.Context, s logical.Storage, rec *patRecord) error {
	e, err := logical.StorageEntryJSON("pats/"+rec.AuthorizationID, rec)
	if err != nil {
		return err
	}
	return s.Put(ctx, e)
}

func getRecord(ctx context.Context, s logical.Storage, id string) (*patRecord, error) {
	e, err := s.Get(ctx, "pats/"+id)
	if err != nil || e == nil {
		return nil, err
	}
	var rec patRecord
	if err := e.DecodeJSON(&rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// entraToken returns an Entra access token of the config's identity, leased for its remaining
// life. Entra tokens cannot be revoked, so the lease cannot be renewed and its revocation only
// forgets it.
func (b *Backend) entraToken(ctx context.Context, req *logical.Request, roleName string, r *role) (*logical.Response, error) {
	tok, exp, err := b.accessToken(ctx, req.Storage, false)
	if err != nil {
		return b.upstreamError(fmt.Sprintf("role %q: getting an Entra token", roleName), err)
	}
	left := exp.Sub(b.now()).Truncate(time.Second)
	_, maxTTL := b.leaseTTLs(r)
	ttl := min(left, maxTTL)
	if ttl <= 0 {
		return nil, fmt.Errorf("role %q: the Entra token expires at once", roleName)
	}
	resp := b.Secret(secretTypeEntra).Response(map[string]any{
		"token":      tok,
		"token_type": TokenTypeBearer,
		"expires_at": exp.UTC().Format(time.RFC3339),
	}, map[string]any{"role": roleName})
	resp.Secret.TTL = ttl
	resp.Secret.MaxTTL = ttl
	return resp, nil
}
