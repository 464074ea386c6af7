// Package azuredevops is a HashiCorp Vault secrets engine that mints Azure DevOps credentials as
// leases: personal access tokens minted through the PAT lifecycle API with a user's delegated Entra
// token (from a refresh token the engine keeps and rotates), revoked when their lease is revoked
// or expires, and Microsoft Entra access tokens of a user or a service principal.
//
// Paths (under the mount, "azuredevops/" in the docs):
//
//	config          write, read (no secrets), delete: tenant, client, refresh_token | client_secret
//	roles/NAME      write, read, list, delete: organization, scopes, ttl, max_ttl, credential_type
//	creds/NAME      read: a leased credential (token, token_type, authorization_id)
//	rotate-root     write: redeem the refresh token now and keep the one Entra returns
//	tidy            write: revoke this engine's PATs whose lease is gone (also run periodically)
//
// Storage: config, roles/NAME, pats/AUTHORIZATION_ID (one record per PAT with a live lease,
// removed when the lease is revoked), engine_id (the tag in every display name), and the WAL
// entries of mints in flight.
package azuredevops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

const backendHelp = `The Azure DevOps secrets engine mints Azure DevOps personal access tokens
and Microsoft Entra access tokens as leases. Write config with a user's refresh token (to mint PATs)
or a service principal's client secret (Entra tokens only), write roles, then read creds/ROLE.`

// Backend is the engine. Its fields other than the framework are for tests.
type Backend struct {
	*framework.Backend

	// HTTP is the client for Entra and Azure DevOps; nil means one with a 30s timeout.
	HTTP *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RetryFor bounds the retries of one Azure DevOps operation (429 and 5xx); default 10s, so
	// that a throttled read fails with 429 well within Vault's request timeout.
	RetryFor time.Duration

	tokMu sync.Mutex // one redemption at a time: Entra rotates the refresh token on each
	tok   cachedToken

	tidyMu   sync.Mutex
	lastTidy time.Time
}

// cachedToken is the last access token and the last refresh token Entra returned, for the
// config written at configAt.
type cachedToken struct {
	configAt time.Time
	access   string
	expiry   time.Time
	refresh  string // the rotated refresh token, also when storing it failed
}

// Factory is the plugin's logical.Factory.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := New()
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

// New returns an engine that is not set up yet (Factory does both).
func New() *Backend {
	b := &Backend{}
	b.Backend = &framework.Backend{
		Help:        strings.TrimSpace(backendHelp),
		BackendType: logical.TypeLogical,
		PathsSpecial: &logical.Paths{
			SealWrapStorage: []string{"config"},
		},
		Paths: framework.PathAppend(
			[]*framework.Path{b.pathConfig(), b.pathRotateRoot(), b.pathTidy()},
			b.pathRoles(),
			[]*framework.Path{b.pathCreds()},
		),
		Secrets:           []*framework.Secret{b.secretPAT(), b.secretEntraToken()},
		PeriodicFunc:      b.periodic,
		WALRollback:       b.walRollback,
		WALRollbackMinAge: walMinAge,
	}
	return b
}

func (b *Backend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Backend) httpClient() *http.Client {
	if b.HTTP != nil {
		return b.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// resetToken drops the cached tokens (a new config was written or deleted).
func (b *Backend) resetToken() {
	b.tokMu.Lock()
	defer b.tokMu.Unlock()
	b.tok = cachedToken{}
}

// engineID returns the random id of this mount, made on first use. Every PAT display name starts
// with "vault-" and this id, so that tidy finds the PATs of this engine and no other's.
func engineID(ctx context.Context, s logical.Storage) (string, error) {
	e, err := s.Get(ctx, "engine_id")
	if err != nil {
		return "", err
	}
	if e != nil && len(e.Value) > 0 {
		return string(e.Value), nil
	}
	raw := make([]byte, 5)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	if err := s.Put(ctx, &logical.StorageEntry{Key: "engine_id", Value: []byte(id)}); err != nil {
		return "", err
	}
	return id, nil
}

// tagPrefix is how the display names of this engine's PATs begin.
func tagPrefix(id string) string { return "vault-" + id + " " }
