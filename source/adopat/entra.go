package adopat

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/patinject/patinject/secret"
)

// ErrNoAccessToken says where an access token for the PAT API can come from, when none can.
var ErrNoAccessToken = errors.New("no Microsoft Entra access token to mint the PAT with: give --ado-access-token REF " +
	"(a user's token, e.g. env:ADO_ENTRA_TOKEN filled from " + azGetToken + "), " +
	"or install the Azure CLI and sign in with az login. Service principals and managed identities cannot mint PATs " +
	"(Azure DevOps allows only users to); they can use their Entra token directly instead of a PAT")

// AccessToken hands out the user's Entra access token for Azure DevOps. It asks Fetch once and
// keeps the answer until shortly before the token expires, or until Forget.
type AccessToken struct {
	Fetch func(context.Context) (secret.Value, error)
	// Fixed says that Fetch returns the same token every time (a REF, not az): asking again after
	// a 401 is pointless.
	Fixed bool
	Now   func() time.Time

	mu     sync.Mutex
	cached secret.Value
	exp    time.Time
}

// Get returns the token, fetching it when there is none or it is about to expire.
func (a *AccessToken) Get(ctx context.Context) (secret.Value, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if !a.cached.IsZero() {
		switch {
		case a.exp.IsZero() || a.exp.Sub(now()) > 2*time.Minute:
			return a.cached, nil
		case a.Fixed && now().Before(a.exp):
			return a.cached, nil // nothing fresher to be had
		case a.Fixed:
			return secret.Value{}, fmt.Errorf("the Entra access token expired at %s, before patinject was done with it: give one that lasts the whole job (%s)", a.exp.UTC().Format(time.RFC3339), azGetToken)
		}
	}
	if a.Fetch == nil {
		return secret.Value{}, ErrNoAccessToken
	}
	v, err := a.Fetch(ctx)
	if err != nil {
		return secret.Value{}, err
	}
	claims, err := CheckAccessToken(v, now())
	if err != nil {
		return secret.Value{}, err
	}
	a.cached, a.exp = v, claims.Expiry
	return v, nil
}

// Refreshable reports whether asking Fetch again may give another token.
func (a *AccessToken) Refreshable() bool { return !a.Fixed }

// Forget drops the cached token.
func (a *AccessToken) Forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cached, a.exp = secret.Value{}, time.Time{}
}

// Claims are the parts of an Entra access token that tell whether it can mint PATs.
type Claims struct {
	Audience []string
	Expiry   time.Time
	IDType   string // "app" for app-only tokens (optional claim)
	Scopes   string // delegated permissions: set for a user's token
	Roles    []string
	User     string // upn or unique_name, for messages
}

// CheckAccessToken reads the claims of v (a JWT; the signature is the server's business) and
// refuses what cannot mint PATs: not a JWT (a PAT, for instance), expired, or an app-only token of
// a service principal or managed identity. Messages never contain the token.
func CheckAccessToken(v secret.Value, now time.Time) (Claims, error) {
	parts := strings.Split(strings.TrimSpace(v.Reveal()), ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("the access token is not a Microsoft Entra access token (a JWT, as az account get-access-token prints); a PAT cannot mint PATs")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, fmt.Errorf("the access token is not a Microsoft Entra access token: its claims are not base64url")
	}
	var raw struct {
		Aud        json.RawMessage `json:"aud"`
		Exp        json.Number     `json:"exp"`
		IDTyp      string          `json:"idtyp"`
		Scp        string          `json:"scp"`
		Roles      []string        `json:"roles"`
		UPN        string          `json:"upn"`
		UniqueName string          `json:"unique_name"`
	}
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return Claims{}, fmt.Errorf("the access token is not a Microsoft Entra access token: its claims are not JSON")
	}
	c := Claims{IDType: raw.IDTyp, Scopes: raw.Scp, Roles: raw.Roles, User: raw.UPN}
	if c.User == "" {
		c.User = raw.UniqueName
	}
	var one string
	if json.Unmarshal(raw.Aud, &one) == nil && one != "" {
		c.Audience = []string{one}
	} else {
		_ = json.Unmarshal(raw.Aud, &c.Audience)
	}
	if f, err := raw.Exp.Float64(); err == nil && f > 0 {
		c.Expiry = time.Unix(int64(f), 0)
		if now.After(c.Expiry) {
			return c, fmt.Errorf("the Entra access token expired at %s: get a fresh one (%s)", c.Expiry.UTC().Format(time.RFC3339), azGetToken)
		}
	}
	if c.IDType == "app" || (c.Scopes == "" && len(c.Roles) > 0) {
		return c, fmt.Errorf("the Entra access token is an application's (a service principal or managed identity), and Azure DevOps lets only users mint PATs: give a user's token, or use the application's Entra token directly instead of a PAT")
	}
	return c, nil
}

// AzCLI gets a user's access token from the Azure CLI, which must be signed in (az login).
type AzCLI struct {
	Path string   // the az executable
	Env  []string // its environment; nil for patinject's own
}

// Token runs az account get-access-token and returns what it prints. The token travels through
// az's stdout only; az's stderr (its error) is reduced to one line.
func (a AzCLI) Token(ctx context.Context) (secret.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.Path, "account", "get-access-token", "--resource", ResourceID, "--query", "accessToken", "-o", "tsv")
	cmd.Env = a.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		why := azError(stderr.String())
		if why == "" {
			why = err.Error()
		}
		return secret.Value{}, fmt.Errorf("az account get-access-token failed: %s; sign in as a user with az login (service principals cannot mint PATs), or give --ado-access-token REF", why)
	}
	tok := strings.TrimSpace(stdout.String())
	if tok == "" || strings.ContainsAny(tok, " \n\t") {
		return secret.Value{}, fmt.Errorf("az account get-access-token printed no single token; check the Azure CLI with az account show")
	}
	return secret.NewValue(tok), nil
}

// azError picks the line of az's stderr that says what went wrong ("ERROR: ..."), else the first.
func azError(stderr string) string {
	first := ""
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "ERROR:") {
			return serverMessage([]byte(line))
		}
		if first == "" {
			first = line
		}
	}
	return serverMessage([]byte(first))
}
