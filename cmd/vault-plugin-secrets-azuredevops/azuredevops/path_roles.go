package azuredevops

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/template"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/patinject/patinject/source/adopat"
)

// Credential types of a role.
const (
	TypePAT        = "pat"
	TypeEntraToken = "entra_token"
)

// Defaults of a role. A PAT's expiry is its lease's plus patGrace, so that Vault's revocation,
// not the expiry, ends it, while a Vault that is down cannot keep it alive for long.
const (
	defaultTTL    = time.Hour
	defaultMaxTTL = 24 * time.Hour
	maxPATLife    = 365 * 24 * time.Hour // the API refuses a validTo more than a year ahead
	patGrace      = 5 * time.Minute

	// DefaultDisplayNameTemplate names a PAT after the role, the Vault token that asked for it
	// and the time; the engine puts "vault-ENGINEID " in front of every name.
	DefaultDisplayNameTemplate = `{{ printf "%s %s %s" .RoleName (.DisplayName | truncate 64) (unix_time) }}`
)

// role is what roles/NAME holds.
type role struct {
	Organization        string   `json:"organization"`
	Scopes              []string `json:"scopes"`
	TTL                 int64    `json:"ttl"`     // seconds
	MaxTTL              int64    `json:"max_ttl"` // seconds
	CredentialType      string   `json:"credential_type"`
	DisplayNameTemplate string   `json:"display_name_template"`
}

func (r *role) ttl() time.Duration    { return time.Duration(r.TTL) * time.Second }
func (r *role) maxTTL() time.Duration { return time.Duration(r.MaxTTL) * time.Second }

// nameData is what a display name template sees.
type nameData struct {
	RoleName     string
	DisplayName  string // of the Vault token that reads the creds
	Organization string
}

var (
	roleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	// Azure DevOps organisation names: letters, digits and hyphens, starting and ending with a
	// letter or digit, at most 50 characters.
	orgRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,48}[A-Za-z0-9])?$`)
)

func (b *Backend) pathRoles() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "roles/" + framework.GenericNameRegex("name"),
			Fields: map[string]*framework.FieldSchema{
				"name":                  {Type: framework.TypeLowerCaseString, Description: "Role name.", Required: true},
				"organization":          {Type: framework.TypeString, Description: "Azure DevOps organisation the PATs are for."},
				"scopes":                {Type: framework.TypeCommaStringSlice, Description: "PAT scopes, such as vso.code,vso.packaging."},
				"ttl":                   {Type: framework.TypeDurationSecond, Description: "Lease TTL of a credential.", Default: int(defaultTTL.Seconds())},
				"max_ttl":               {Type: framework.TypeDurationSecond, Description: "Renewals end here.", Default: int(defaultMaxTTL.Seconds())},
				"credential_type":       {Type: framework.TypeString, Description: "pat (a PAT of the config's user) or entra_token (the config identity's Entra access token).", Default: TypePAT},
				"display_name_template": {Type: framework.TypeString, Description: "Template of the PAT display name (fields .RoleName, .DisplayName, .Organization; Vault's template functions).", Default: DefaultDisplayNameTemplate},
			},
			ExistenceCheck: b.roleExists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: b.roleWrite},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.roleWrite},
				logical.ReadOperation:   &framework.PathOperation{Callback: b.roleRead},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.roleDelete},
			},
			HelpSynopsis: "What creds/NAME mints: a PAT for an organisation with scopes and TTLs, or an Entra token.",
		},
		{
			Pattern: "roles/?$",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: b.roleList},
			},
			HelpSynopsis: "List the roles.",
		},
	}
}

func (b *Backend) roleExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	r, err := getRole(ctx, req.Storage, d.Get("name").(string))
	return r != nil, err
}

func getRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	e, err := s.Get(ctx, "roles/"+name)
	if err != nil || e == nil {
		return nil, err
	}
	var r role
	if err := e.DecodeJSON(&r); err != nil {
		return nil, fmt.Errorf("stored role %s: %w", name, err)
	}
	return &r, nil
}

// patRoles lists the roles that mint PATs.
func patRoles(ctx context.Context, s logical.Storage) ([]string, error) {
	names, err := s.List(ctx, "roles/")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		r, err := getRole(ctx, s, n)
		if err != nil {
			return nil, err
		}
		if r != nil && r.CredentialType == TypePAT {
			out = append(out, n)
		}
	}
	return out, nil
}

func (b *Backend) roleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	if !roleNameRE.MatchString(name) {
		return logical.ErrorResponse("role name %q: letters, digits, '_', '.', '-'", name), nil
	}
	old, err := getRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	r := role{}
	if old != nil {
		r = *old
	}
	create := old == nil
	if _, ok := d.GetOk("organization"); ok || create {
		r.Organization = strings.TrimSpace(d.Get("organization").(string))
	}
	if _, ok := d.GetOk("scopes"); ok || create {
		r.Scopes = d.Get("scopes").([]string)
	}
	if _, ok := d.GetOk("ttl"); ok || create {
		r.TTL = int64(d.Get("ttl").(int))
	}
	if _, ok := d.GetOk("max_ttl"); ok || create {
		r.MaxTTL = int64(d.Get("max_ttl").(int))
	}
	if _, ok := d.GetOk("credential_type"); ok || create {
		r.CredentialType = strings.TrimSpace(strings.ToLower(d.Get("credential_type").(string)))
	}
	if _, ok := d.GetOk("display_name_template"); ok || create {
		r.DisplayNameTemplate = d.Get("display_name_template").(string)
	}

	switch r.CredentialType {
	case TypePAT:
		if r.Organization == "" {
			return logical.ErrorResponse("organization is required for credential_type=pat: the Azure DevOps organisation the PATs are for"), nil
		}
		if !orgRE.MatchString(r.Organization) {
			return logical.ErrorResponse("organization %q is not an Azure DevOps organisation name (letters, digits and '-', at most 50)", r.Organization), nil
		}
		scopes, err := parseScopes(r.Scopes)
		if err != nil {
			return logical.ErrorResponse("scopes: %s", err), nil
		}
		r.Scopes = scopes
		if _, err := renderName(r.DisplayNameTemplate, nameData{RoleName: name, DisplayName: "token", Organization: r.Organization}); err != nil {
			return logical.ErrorResponse("display_name_template: %s", err), nil
		}
		c, err := getConfig(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		if c != nil && !c.delegated() {
			return logical.ErrorResponse("credential_type=pat needs a delegated config (a user's refresh_token): this engine's config is a service principal's client_secret, and Azure DevOps lets only users mint PATs; use credential_type=entra_token, or write a user's refresh_token to config"), nil
		}
	case TypeEntraToken:
		if len(r.Scopes) > 0 {
			return logical.ErrorResponse("scopes are PAT scopes and do not apply to credential_type=entra_token (the token is for Azure DevOps, %s/.default)", adopat.ResourceID), nil
		}
	default:
		return logical.ErrorResponse("credential_type %q: want pat or entra_token", r.CredentialType), nil
	}
	switch {
	case r.TTL <= 0:
		return logical.ErrorResponse("ttl must be positive"), nil
	case r.MaxTTL <= 0:
		return logical.ErrorResponse("max_ttl must be positive"), nil
	case r.TTL > r.MaxTTL:
		return logical.ErrorResponse("ttl (%s) is above max_ttl (%s)", r.ttl(), r.maxTTL()), nil
	case r.CredentialType == TypePAT && r.maxTTL()+patGrace > maxPATLife:
		return logical.ErrorResponse("max_ttl (%s) is above what a PAT can live (a year, less %s)", r.maxTTL(), patGrace), nil
	}
	var warnings []string
	if r.CredentialType == TypeEntraToken {
		if c, err := getConfig(ctx, req.Storage); err != nil {
			return nil, err
		} else if c != nil && c.delegated() {
			warnings = append(warnings, "credential_type=entra_token on a delegated config hands out the user's own Entra token for Azure DevOps, which can do all the user can (user_impersonation): prefer PAT roles with the scopes the jobs need")
		}
	}
	if sysMax := b.System().MaxLeaseTTL(); sysMax > 0 && r.maxTTL() > sysMax {
		warnings = append(warnings, fmt.Sprintf("max_ttl %s is above the mount's max lease TTL %s: leases end at %s", r.maxTTL(), sysMax, sysMax))
	}
	e, err := logical.StorageEntryJSON("roles/"+name, r)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Put(ctx, e); err != nil {
		return nil, err
	}
	if len(warnings) == 0 {
		return nil, nil
	}
	return &logical.Response{Warnings: warnings}, nil
}

// parseScopes checks PAT scopes against the published list. A full-access PAT is refused: a role
// names the scopes its jobs need.
func parseScopes(scopes []string) ([]string, error) {
	for _, s := range scopes {
		if strings.TrimSpace(s) == adopat.FullAccess {
			return nil, fmt.Errorf("app_token is a full-access PAT (every API, every project): name the scopes the jobs need (vso.code, vso.packaging, ...)")
		}
	}
	joined := strings.Join(scopes, " ")
	out, err := adopat.ParseScopes(joined, false)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), " (see patinject pats scopes for the list)", " (see the PAT scopes in the Azure DevOps documentation)")
		msg = strings.ReplaceAll(msg, "as in scope=", "as in scopes=")
		return nil, fmt.Errorf("%s", msg)
	}
	return out, nil
}

// renderName makes a display name from a role's template.
func renderName(tmpl string, data nameData) (string, error) {
	t, err := template.NewTemplate(template.Template(tmpl))
	if err != nil {
		return "", err
	}
	s, err := t.Generate(data)
	if err != nil {
		return "", err
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("the template gives an empty name")
	}
	return s, nil
}

func (b *Backend) roleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := getRole(ctx, req.Storage, d.Get("name").(string))
	if err != nil || r == nil {
		return nil, err
	}
	data := map[string]any{
		"organization":    r.Organization,
		"scopes":          r.Scopes,
		"ttl":             r.TTL,
		"max_ttl":         r.MaxTTL,
		"credential_type": r.CredentialType,
	}
	if r.CredentialType == TypePAT {
		data["display_name_template"] = r.DisplayNameTemplate
	}
	return &logical.Response{Data: data}, nil
}

func (b *Backend) roleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	names, err := req.Storage.List(ctx, "roles/")
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(names), nil
}

func (b *Backend) roleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return nil, req.Storage.Delete(ctx, "roles/"+d.Get("name").(string))
}
