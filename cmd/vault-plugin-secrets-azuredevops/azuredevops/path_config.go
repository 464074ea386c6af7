package azuredevops

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/patinject/patinject/source/adopat"
)

// DefaultAuthorityHost is Microsoft Entra's public cloud.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// config is what config holds. RefreshToken and ClientSecret never leave the engine.
type config struct {
	TenantID      string    `json:"tenant_id"`
	ClientID      string    `json:"client_id"`
	RefreshToken  string    `json:"refresh_token,omitempty"`
	ClientSecret  string    `json:"client_secret,omitempty"`
	AuthorityHost string    `json:"authority_host"`
	ADOURL        string    `json:"ado_url"`
	TidyInterval  int64     `json:"tidy_interval"` // seconds
	WrittenAt     time.Time `json:"written_at"`
	RotatedAt     time.Time `json:"refresh_token_rotated_at,omitempty"`
}

// delegated reports whether the config holds a user's refresh token (and so can mint PATs).
func (c *config) delegated() bool { return c.RefreshToken != "" }

func (c *config) kind() string {
	if c.delegated() {
		return "delegated"
	}
	return "application"
}

func (c *config) tidyInterval() time.Duration {
	if c.TidyInterval > 0 {
		return time.Duration(c.TidyInterval) * time.Second
	}
	return defaultTidyInterval
}

const defaultTidyInterval = 10 * time.Minute

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config",
		Fields: map[string]*framework.FieldSchema{
			"tenant_id":      {Type: framework.TypeString, Description: "Microsoft Entra tenant (directory) id or domain."},
			"client_id":      {Type: framework.TypeString, Description: "Application (client) id the refresh token or the client secret belongs to."},
			"refresh_token":  {Type: framework.TypeString, Description: "A user's refresh token (delegated: mints PATs). Write-only; the engine rotates it.", DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
			"client_secret":  {Type: framework.TypeString, Description: "A service principal's client secret (application: Entra tokens only). Write-only.", DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
			"authority_host": {Type: framework.TypeString, Description: "Entra authority.", Default: DefaultAuthorityHost},
			"ado_url":        {Type: framework.TypeString, Description: "Azure DevOps token service.", Default: adopat.DefaultURL},
			"tidy_interval":  {Type: framework.TypeDurationSecond, Description: "How often the periodic tidy revokes PATs whose lease is gone.", Default: int(defaultTidyInterval.Seconds())},
		},
		ExistenceCheck: b.configExists,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.CreateOperation: &framework.PathOperation{Callback: b.configWrite},
			logical.UpdateOperation: &framework.PathOperation{Callback: b.configWrite},
			logical.ReadOperation:   &framework.PathOperation{Callback: b.configRead},
			logical.DeleteOperation: &framework.PathOperation{Callback: b.configDelete},
		},
		HelpSynopsis: "Entra identity the engine mints with.",
		HelpDescription: "tenant_id and client_id with either refresh_token (a user's, delegated: mints PATs and the user's Entra tokens) " +
			"or client_secret (a service principal's: Entra tokens only). Secrets are write-only; read shows which kind is set.",
	}
}

func (b *Backend) configExists(ctx context.Context, req *logical.Request, _ *framework.FieldData) (bool, error) {
	c, err := getConfig(ctx, req.Storage)
	return c != nil, err
}

func getConfig(ctx context.Context, s logical.Storage) (*config, error) {
	e, err := s.Get(ctx, "config")
	if err != nil || e == nil {
		return nil, err
	}
	var c config
	if err := e.DecodeJSON(&c); err != nil {
		return nil, fmt.Errorf("stored config: %w", err)
	}
	return &c, nil
}

func putConfig(ctx context.Context, s logical.Storage, c *config) error {
	e, err := logical.StorageEntryJSON("config", c)
	if err != nil {
		return err
	}
	return s.Put(ctx, e)
}

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$`)

func (b *Backend) configWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	old, err := getConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	c := config{}
	if old != nil {
		c = *old
	}
	str := func(k string, dst *string) {
		if v, ok := d.GetOk(k); ok {
			*dst = strings.TrimSpace(v.(string))
		} else if req.Operation == logical.CreateOperation {
			*dst = d.Get(k).(string)
		}
	}
	str("tenant_id", &c.TenantID)
	str("client_id", &c.ClientID)
	str("authority_host", &c.AuthorityHost)
	str("ado_url", &c.ADOURL)
	if v, ok := d.GetOk("tidy_interval"); ok {
		c.TidyInterval = int64(v.(int))
	}
	rt, hasRT := d.GetOk("refresh_token")
	cs, hasCS := d.GetOk("client_secret")
	switch {
	case hasRT && hasCS && rt.(string) != "" && cs.(string) != "":
		return logical.ErrorResponse("give refresh_token (a user's, to mint PATs) or client_secret (a service principal's, for Entra tokens only), not both"), nil
	case hasRT && rt.(string) != "":
		c.RefreshToken, c.ClientSecret, c.RotatedAt = strings.TrimSpace(rt.(string)), "", time.Time{}
	case hasCS && cs.(string) != "":
		c.ClientSecret, c.RefreshToken, c.RotatedAt = strings.TrimSpace(cs.(string)), "", time.Time{}
	}
	if c.AuthorityHost == "" {
		c.AuthorityHost = DefaultAuthorityHost
	}
	if c.ADOURL == "" {
		c.ADOURL = adopat.DefaultURL
	}
	switch {
	case c.TenantID == "":
		return logical.ErrorResponse("tenant_id is required: the Entra tenant (directory) id"), nil
	case !tenantRE.MatchString(c.TenantID):
		return logical.ErrorResponse("tenant_id is not a tenant id or domain (letters, digits, '.', '-')"), nil
	case c.ClientID == "":
		return logical.ErrorResponse("client_id is required: the application (client) id the refresh token or secret was issued to"), nil
	case c.RefreshToken == "" && c.ClientSecret == "":
		return logical.ErrorResponse("give refresh_token (a user's, to mint PATs) or client_secret (a service principal's, for Entra tokens only)"), nil
	case c.TidyInterval < 0:
		return logical.ErrorResponse("tidy_interval must not be negative"), nil
	}
	if err := checkURL("authority_host", c.AuthorityHost); err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	if err := checkURL("ado_url", c.ADOURL); err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	var resp *logical.Response
	if !c.delegated() {
		roles, err := patRoles(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		if len(roles) > 0 {
			resp = &logical.Response{}
			resp.AddWarning(fmt.Sprintf("an application config cannot mint PATs (Azure DevOps lets only users): reads of the PAT roles %s will fail", strings.Join(roles, ", ")))
		}
	}
	c.WrittenAt = b.now().UTC()
	if err := putConfig(ctx, req.Storage, &c); err != nil {
		return nil, err
	}
	if _, err := engineID(ctx, req.Storage); err != nil {
		return nil, err
	}
	b.resetToken()
	return resp, nil
}

// checkURL accepts https URLs, and http ones only for a loopback host (a test server): a
// refresh token or an access token must not cross a network in clear.
func checkURL(name, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%s must be an https URL such as %s", name, map[string]string{"authority_host": DefaultAuthorityHost, "ado_url": adopat.DefaultURL}[name])
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s must be a plain https URL, without user information, query or fragment", name)
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%s must use https (http is accepted for a loopback address only)", name)
		}
	}
	return nil
}

func (b *Backend) configRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := getConfig(ctx, req.Storage)
	if err != nil || c == nil {
		return nil, err
	}
	data := map[string]any{
		"tenant_id":      c.TenantID,
		"client_id":      c.ClientID,
		"authority_host": c.AuthorityHost,
		"ado_url":        c.ADOURL,
		"credential":     c.kind(),
		"tidy_interval":  int64(c.tidyInterval().Seconds()),
	}
	if !c.RotatedAt.IsZero() {
		data["refresh_token_rotated_at"] = c.RotatedAt.Format(time.RFC3339)
	}
	return &logical.Response{Data: data}, nil
}

func (b *Backend) configDelete(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ids, err := req.Storage.List(ctx, "pats/")
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		return logical.ErrorResponse("%d PATs minted by this engine still have leases, and revoking them needs this config: revoke them first (vault lease revoke -prefix %screds/)", len(ids), req.MountPoint), nil
	}
	if err := req.Storage.Delete(ctx, "config"); err != nil {
		return nil, err
	}
	b.resetToken()
	return nil, nil
}
