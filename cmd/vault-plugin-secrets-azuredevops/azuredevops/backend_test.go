package azuredevops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/patinject/patinject/internal/testpeer/entratest"
	"github.com/patinject/patinject/source/adopat"
	"github.com/patinject/patinject/source/adopat/adotest"
)

// env is an engine set up in-process over in-memory storage, with an Entra stand-in (HTTPS
// under a test CA) and the Azure DevOps fake, which accepts the Entra stand-in's tokens.
type env struct {
	b        *Backend
	s        logical.Storage
	entra    *entratest.Server
	ado      *adotest.Server
	clientID string
	rt       string // the refresh token written to config
	log      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

const userScope = entratest.AzureDevOps + "/.default offline_access"

func newEnv(t *testing.T) *env {
	t.Helper()
	ca := entratest.NewCA(t)
	e := entratest.Start(t, ca, entratest.Options{})
	v := &env{entra: e, ado: adotest.NewServer(t), clientID: "0b1c2d3e-0000-4000-8000-00000000a001", log: &syncBuffer{}}
	e.AddApp(entratest.App{ClientID: v.clientID})
	v.ado.AcceptTokens(func(tok string) bool {
		g, ok := e.Valid(tok)
		return ok && g.Resource == entratest.AzureDevOps
	})
	v.b = New()
	v.b.HTTP = ca.Client()
	v.b.RetryFor = 2 * time.Second
	conf := logical.TestBackendConfig()
	conf.Logger = hclog.New(&hclog.LoggerOptions{Output: v.log, Level: hclog.Trace})
	v.s = &logical.InmemStorage{}
	conf.StorageView = v.s
	if err := v.b.Setup(context.Background(), conf); err != nil {
		t.Fatal(err)
	}
	return v
}

// delegated writes a config with a fresh refresh token of a user.
func (v *env) delegated(t *testing.T) {
	t.Helper()
	v.rt = v.entra.NewRefreshToken(v.clientID, userScope, time.Hour)
	v.mustOK(t, logical.CreateOperation, "config", map[string]any{
		"tenant_id": v.entra.Tenant, "client_id": v.clientID, "refresh_token": v.rt,
		"authority_host": v.entra.URL, "ado_url": v.ado.URL,
	})
}

func (v *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return v.b.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: v.s, DisplayName: "token-ci", MountPoint: "azuredevops/",
	})
}

func (v *env) mustOK(t *testing.T, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := v.do(op, path, data)
	if err != nil || resp.IsError() {
		t.Fatalf("%s %s: %v %v", op, path, err, respErr(resp))
	}
	return resp
}

func respErr(resp *logical.Response) error {
	if resp != nil && resp.IsError() {
		return resp.Error()
	}
	return nil
}

// mustFail asks for a refusal whose text holds every part of want.
func (v *env) mustFail(t *testing.T, op logical.Operation, path string, data map[string]any, want ...string) string {
	t.Helper()
	resp, err := v.do(op, path, data)
	if err == nil {
		err = respErr(resp)
	}
	if err == nil {
		t.Fatalf("%s %s: succeeded, want an error with %q", op, path, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s %s: got %q, want it to say %q", op, path, err, w)
		}
	}
	return err.Error()
}

func (v *env) renew(secret *logical.Secret) (*logical.Response, error) {
	return v.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Storage: v.s, Secret: secret})
}

func (v *env) revoke(secret *logical.Secret) (*logical.Response, error) {
	return v.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RevokeOperation, Storage: v.s, Secret: secret})
}

// RESTStatus calls the Azure DevOps fake's REST API with the PAT in Basic auth (exported for the
// Vault tests of package azuredevops_test).
func RESTStatus(t *testing.T, ado *adotest.Server, org, pat string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ado.URL+"/"+org+"/_apis/git/repositories?api-version=7.1", nil)
	req.SetBasicAuth("vault", pat)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func storedConfig(t *testing.T, v *env) *config {
	t.Helper()
	c, err := getConfig(context.Background(), v.s)
	if err != nil || c == nil {
		t.Fatalf("stored config: %v %v", c, err)
	}
	return c
}

func TestConfigIsWriteOnly(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	resp := v.mustOK(t, logical.ReadOperation, "config", nil)
	b, _ := json.Marshal(resp.Data)
	if strings.Contains(string(b), v.rt) || strings.Contains(string(b), "refresh_token\"") {
		t.Errorf("config read shows the refresh token: %s", b)
	}
	if resp.Data["credential"] != "delegated" || resp.Data["tenant_id"] != v.entra.Tenant {
		t.Errorf("config read: got %v", resp.Data)
	}

	tests := []struct {
		name string
		data map[string]any
		want string
	}{
		{"both secrets", map[string]any{"refresh_token": "a-token", "client_secret": "a-secret"}, "not both"},
		{"plain http to a remote authority", map[string]any{"authority_host": "http://login.example.com/"}, "https"},
		{"userinfo in ado_url", map[string]any{"ado_url": "https://u:p@vssps.example.com"}, "without user information"},
		{"tenant with a slash", map[string]any{"tenant_id": "a/b"}, "tenant_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v.mustFail(t, logical.UpdateOperation, "config", tc.data, tc.want)
		})
	}
	fresh := newEnv(t)
	fresh.mustFail(t, logical.CreateOperation, "config", map[string]any{"tenant_id": "contoso.example", "client_id": fresh.clientID}, "give refresh_token")
	fresh.mustFail(t, logical.CreateOperation, "config", map[string]any{"client_id": fresh.clientID, "client_secret": "s"}, "tenant_id is required")
}

func TestMintRenewRevoke(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	v.mustOK(t, logical.CreateOperation, "roles/ci-read", map[string]any{
		"organization": "contoso", "scopes": "vso.code,vso.packaging", "ttl": "1h", "max_ttl": "2h",
	})
	role := v.mustOK(t, logical.ReadOperation, "roles/ci-read", nil)
	if role.Data["credential_type"] != TypePAT || role.Data["ttl"] != int64(3600) {
		t.Errorf("role read: got %v", role.Data)
	}

	before := time.Now()
	resp := v.mustOK(t, logical.ReadOperation, "creds/ci-read", nil)
	tok, _ := resp.Data["token"].(string)
	id, _ := resp.Data["authorization_id"].(string)
	if tok == "" || resp.Data["token_type"] != TokenTypePAT || !adopat.IsAuthorizationID(id) {
		t.Fatalf("creds: got %v", resp.Data)
	}
	if resp.Secret == nil || resp.Secret.TTL != time.Hour || resp.Secret.MaxTTL != 2*time.Hour || !resp.Secret.Renewable {
		t.Fatalf("lease: got %+v", resp.Secret)
	}
	pat, ok := v.ado.Get(id)
	if !ok || pat.Org != "contoso" || pat.Scope != "vso.code vso.packaging" || pat.AllOrgs {
		t.Fatalf("PAT on the server: %+v", pat)
	}
	if want := before.Add(time.Hour + patGrace); pat.ValidTo.Before(want.Add(-time.Second)) || pat.ValidTo.After(want.Add(time.Minute)) {
		t.Errorf("PAT validTo %v, want just past the lease, about %v", pat.ValidTo, want)
	}
	engine, _ := engineID(context.Background(), v.s)
	if !strings.HasPrefix(pat.DisplayName, "vault-"+engine+" ci-read token-ci ") {
		t.Errorf("display name %q lacks the engine's tag and the role", pat.DisplayName)
	}
	if got := RESTStatus(t, v.ado, "contoso", tok); got != http.StatusOK {
		t.Errorf("REST call with the minted PAT: got %d, want 200", got)
	}

	// The refresh token was redeemed with offline_access and the rotated one stored.
	c := storedConfig(t, v)
	if c.RefreshToken == v.rt || c.RefreshToken == "" || c.RotatedAt.IsZero() {
		t.Errorf("refresh token not rotated: rotated at %v", c.RotatedAt)
	}
	for _, r := range v.entra.Requests() {
		if r.GrantType != "refresh_token" || !strings.Contains(r.Scope, "offline_access") || r.Error != "" {
			t.Errorf("token request: %+v", r)
		}
	}

	// Renewal: up to max_ttl from the lease's issue, and the PAT's expiry follows.
	sec := *resp.Secret
	sec.IssueTime = time.Now().Add(-90 * time.Minute)
	rn, err := v.renew(&sec)
	if err != nil || rn.IsError() {
		t.Fatalf("renew: %v %v", err, respErr(rn))
	}
	if rn.Secret.TTL > 30*time.Minute || rn.Secret.TTL < 29*time.Minute {
		t.Errorf("renew at 90m of a 2h max_ttl: TTL %s, want about 30m", rn.Secret.TTL)
	}
	pat, _ = v.ado.Get(id)
	if want := time.Now().Add(30*time.Minute + patGrace); pat.ValidTo.Before(want.Add(-time.Minute)) || pat.ValidTo.After(want.Add(time.Minute)) {
		t.Errorf("PAT validTo after renew %v, want about %v", pat.ValidTo, want)
	}
	sec.IssueTime = time.Now().Add(-2*time.Hour - time.Second)
	if rn, err := v.renew(&sec); err == nil && !rn.IsError() {
		t.Errorf("renew past max_ttl succeeded: %+v", rn.Secret)
	} else if e := errors.Join(err, respErr(rn)); !strings.Contains(e.Error(), "max_ttl") {
		t.Errorf("renew past max_ttl: got %q, want it to name max_ttl", e)
	}

	if r := v.mustOK(t, logical.CreateOperation, "roles/user-token", map[string]any{"credential_type": "entra_token"}); r == nil || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "user's own Entra token") {
		t.Errorf("an entra_token role on a delegated config gave no warning: %+v", r)
	}
	v.mustOK(t, logical.DeleteOperation, "roles/user-token", nil)
	if l := v.mustOK(t, logical.ListOperation, "roles/", nil); len(l.Data["keys"].([]string)) != 1 {
		t.Errorf("roles list: %v", l.Data)
	}
	v.mustFail(t, logical.DeleteOperation, "config", nil, "1 PATs minted by this engine still have leases")

	// Revocation revokes the PAT and forgets its record; a second one is harmless.
	if _, err := v.revoke(resp.Secret); err != nil {
		t.Fatal(err)
	}
	if n := v.ado.Revokes(id); n != 1 {
		t.Errorf("PAT revoked %d times, want 1", n)
	}
	if got := RESTStatus(t, v.ado, "contoso", tok); got != http.StatusUnauthorized {
		t.Errorf("REST call with the revoked PAT: got %d, want 401", got)
	}
	if rec, _ := getRecord(context.Background(), v.s, id); rec != nil {
		t.Error("the record of a revoked PAT is still there")
	}
	if _, err := v.revoke(resp.Secret); err != nil {
		t.Errorf("revoking an already revoked PAT: %v", err)
	}
	v.mustOK(t, logical.DeleteOperation, "config", nil)
	if c, _ := getConfig(context.Background(), v.s); c != nil {
		t.Error("config delete left the config")
	}
	if strings.Contains(v.log.String(), tok) || strings.Contains(v.log.String(), c.RefreshToken) || strings.Contains(v.log.String(), v.rt) {
		t.Error("the engine's log holds a token")
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	roleTests := []struct {
		name string
		data map[string]any
		want []string
	}{
		{"unknown scope", map[string]any{"organization": "contoso", "scopes": "vso.code,vso.codez"}, []string{`unknown scope "vso.codez"`, "did you mean vso.code"}},
		{"full access", map[string]any{"organization": "contoso", "scopes": "app_token"}, []string{"full-access"}},
		{"no scope", map[string]any{"organization": "contoso"}, []string{"no scope"}},
		{"no organization", map[string]any{"scopes": "vso.code"}, []string{"organization is required"}},
		{"bad organization", map[string]any{"organization": "con/toso", "scopes": "vso.code"}, []string{"not an Azure DevOps organisation"}},
		{"ttl above max_ttl", map[string]any{"organization": "contoso", "scopes": "vso.code", "ttl": "3h", "max_ttl": "2h"}, []string{"above max_ttl"}},
		{"max_ttl above a year", map[string]any{"organization": "contoso", "scopes": "vso.code", "max_ttl": "9000h"}, []string{"a year"}},
		{"unknown credential type", map[string]any{"organization": "contoso", "scopes": "vso.code", "credential_type": "ssh"}, []string{"want pat or entra_token"}},
		{"scopes on an entra_token role", map[string]any{"credential_type": "entra_token", "scopes": "vso.code"}, []string{"do not apply"}},
		{"bad template", map[string]any{"organization": "contoso", "scopes": "vso.code", "display_name_template": "{{ .Nope"}, []string{"display_name_template"}},
	}
	for _, tc := range roleTests {
		t.Run(tc.name, func(t *testing.T) {
			v.mustFail(t, logical.CreateOperation, "roles/bad", tc.data, tc.want...)
		})
	}

	t.Run("ttl above the organisation's maximum", func(t *testing.T) {
		v.ado.SetMaxLifetime(30 * time.Minute)
		defer v.ado.SetMaxLifetime(0)
		v.mustOK(t, logical.CreateOperation, "roles/long", map[string]any{"organization": "contoso", "scopes": "vso.code", "ttl": "1h"})
		v.mustFail(t, logical.ReadOperation, "creds/long", nil, "patLifespanPolicyViolation", "lower the role's ttl")
		if n := len(v.ado.Live()); n != 0 {
			t.Errorf("%d PATs live after a refused mint", n)
		}
	})

	t.Run("expired refresh token", func(t *testing.T) {
		w := newEnv(t)
		w.rt = w.entra.NewRefreshToken(w.clientID, userScope, -time.Second)
		w.mustOK(t, logical.CreateOperation, "config", map[string]any{
			"tenant_id": w.entra.Tenant, "client_id": w.clientID, "refresh_token": w.rt,
			"authority_host": w.entra.URL, "ado_url": w.ado.URL,
		})
		w.mustOK(t, logical.CreateOperation, "roles/r", map[string]any{"organization": "contoso", "scopes": "vso.code"})
		msg := w.mustFail(t, logical.ReadOperation, "creds/r", nil, "AADSTS70008", "write the new refresh_token to config")
		if strings.Contains(msg, w.rt) {
			t.Error("the error holds the refresh token")
		}
		w.mustFail(t, logical.UpdateOperation, "rotate-root", nil, "AADSTS70008")
	})

	t.Run("pat role on an application config", func(t *testing.T) {
		w := newEnv(t)
		w.entra.AddApp(entratest.App{ClientID: "0b1c2d3e-0000-4000-8000-00000000a002", Secret: "app-secret-value"})
		w.mustOK(t, logical.CreateOperation, "config", map[string]any{
			"tenant_id": w.entra.Tenant, "client_id": "0b1c2d3e-0000-4000-8000-00000000a002", "client_secret": "app-secret-value",
			"authority_host": w.entra.URL, "ado_url": w.ado.URL,
		})
		w.mustFail(t, logical.CreateOperation, "roles/p", map[string]any{"organization": "contoso", "scopes": "vso.code"}, "credential_type=pat needs a delegated config")
		w.mustFail(t, logical.UpdateOperation, "rotate-root", nil, "client secret")
	})

	t.Run("pat role left behind by a switch to an application config", func(t *testing.T) {
		w := newEnv(t)
		w.delegated(t)
		w.mustOK(t, logical.CreateOperation, "roles/p", map[string]any{"organization": "contoso", "scopes": "vso.code"})
		w.entra.AddApp(entratest.App{ClientID: "0b1c2d3e-0000-4000-8000-00000000a003", Secret: "app-secret-value"})
		resp := w.mustOK(t, logical.UpdateOperation, "config", map[string]any{"client_id": "0b1c2d3e-0000-4000-8000-00000000a003", "client_secret": "app-secret-value"})
		if resp == nil || len(resp.Warnings) == 0 {
			t.Error("switching to an application config with PAT roles gave no warning")
		}
		w.mustFail(t, logical.ReadOperation, "creds/p", nil, "Azure DevOps lets only users mint PATs")
	})

	v.mustFail(t, logical.ReadOperation, "creds/none", nil, `no role "none"`)
}

func TestEntraTokenRole(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	const app = "0b1c2d3e-0000-4000-8000-00000000a004"
	v.entra.AddApp(entratest.App{ClientID: app, Secret: "app-secret-value"})
	v.mustOK(t, logical.CreateOperation, "config", map[string]any{
		"tenant_id": v.entra.Tenant, "client_id": app, "client_secret": "app-secret-value", "authority_host": v.entra.URL,
	})
	if r := v.mustOK(t, logical.ReadOperation, "config", nil); r.Data["credential"] != "application" {
		t.Errorf("config read: %v", r.Data)
	}
	v.mustOK(t, logical.CreateOperation, "roles/bearer", map[string]any{"credential_type": "entra_token"})
	resp := v.mustOK(t, logical.ReadOperation, "creds/bearer", nil)
	tok, _ := resp.Data["token"].(string)
	g, ok := v.entra.Valid(tok)
	if !ok || g.ClientID != app || g.Resource != entratest.AzureDevOps || resp.Data["token_type"] != TokenTypeBearer {
		t.Fatalf("creds: grant %+v ok %v data type %v", g, ok, resp.Data["token_type"])
	}
	if resp.Secret.Renewable || resp.Secret.TTL <= 50*time.Minute || resp.Secret.TTL > time.Hour {
		t.Errorf("lease: %+v, want not renewable, the token's remaining life", resp.Secret)
	}
	if _, err := v.renew(resp.Secret); err == nil {
		t.Error("an Entra token's lease was renewed")
	}
	if _, err := v.revoke(resp.Secret); err != nil {
		t.Errorf("revoke: %v", err)
	}
}

func TestThrottlingIsPassedOn(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	v.mustOK(t, logical.CreateOperation, "roles/r", map[string]any{"organization": "contoso", "scopes": "vso.code"})
	v.ado.Fault(adotest.OpCreate, adotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 10})
	_, err := v.do(logical.ReadOperation, "creds/r", nil)
	var coded logical.HTTPCodedError
	if !errors.As(err, &coded) || coded.Code() != http.StatusTooManyRequests {
		t.Fatalf("got %v, want a 429 passed on", err)
	}
	if n := len(v.ado.Live()); n != 0 {
		t.Errorf("%d PATs live after a throttled mint", n)
	}
}

func TestConcurrentReadsRedeemOnce(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	v.mustOK(t, logical.CreateOperation, "roles/r", map[string]any{"organization": "contoso", "scopes": "vso.code"})
	var wg sync.WaitGroup
	secrets := make([]*logical.Secret, 20)
	errs := make([]error, 20)
	for i := range 20 {
		wg.Go(func() {
			resp, err := v.do(logical.ReadOperation, "creds/r", nil)
			if err == nil && resp.IsError() {
				err = resp.Error()
			}
			errs[i] = err
			if resp != nil {
				secrets[i] = resp.Secret
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if n := len(v.entra.Requests()); n != 1 {
		t.Errorf("%d token requests for 20 concurrent reads, want 1 (the rotated refresh token must not race)", n)
	}
	if n := len(v.ado.Live()); n != 20 {
		t.Errorf("%d live PATs, want 20", n)
	}
	for _, s := range secrets {
		if _, err := v.revoke(s); err != nil {
			t.Error(err)
		}
	}
	if n := len(v.ado.Live()); n != 0 {
		t.Errorf("%d PATs live after every lease was revoked", n)
	}
}

func TestTidy(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	ctx := context.Background()
	v.mustOK(t, logical.CreateOperation, "roles/r", map[string]any{"organization": "contoso", "scopes": "vso.code", "ttl": "10m"})
	engine, _ := engineID(ctx, v.s)
	old := time.Now().Add(-time.Hour)
	seed := func(id, name string, from time.Time) {
		v.ado.Seed(adotest.PAT{Org: "contoso", AuthorizationID: id, DisplayName: name, Scope: "vso.code", Token: "tok" + id[:8],
			ValidFrom: from, ValidTo: time.Now().Add(time.Hour), TargetAccounts: []string{}})
	}
	const (
		untracked = "11111111-1111-4111-8111-111111111111"
		foreign   = "22222222-2222-4222-8222-222222222222"
		young     = "33333333-3333-4333-8333-333333333333"
		inFlight  = "44444444-4444-4444-8444-444444444444"
	)
	seed(untracked, tagPrefix(engine)+"r lost answer", old)
	seed(foreign, "vault-ffffffffff r another engine's", old)
	seed(young, tagPrefix(engine)+"r being minted", time.Now())
	seed(inFlight, tagPrefix(engine)+"r in flight", old)
	if _, err := framework.PutWAL(ctx, v.s, walKindPAT, &walPAT{Organization: "contoso", DisplayName: tagPrefix(engine) + "r in flight"}); err != nil {
		t.Fatal(err)
	}

	live := v.mustOK(t, logical.ReadOperation, "creds/r", nil)
	ended := v.mustOK(t, logical.ReadOperation, "creds/r", nil)
	endedID := ended.Data["authorization_id"].(string)
	rec, _ := getRecord(ctx, v.s, endedID)
	rec.LeaseExpiry = time.Now().Add(-tidyGrace - time.Minute) // Vault failed to revoke it
	if err := putRecord(ctx, v.s, rec); err != nil {
		t.Fatal(err)
	}

	resp := v.mustOK(t, logical.UpdateOperation, "tidy", nil)
	if resp.Data["expired_leases"] != 1 || resp.Data["untracked"] != 1 {
		t.Errorf("tidy: got %v, want 1 ended lease and 1 untracked PAT", resp.Data)
	}
	revoked := map[string]bool{}
	for _, p := range v.ado.PATs() {
		revoked[p.AuthorizationID] = p.Revoked
	}
	want := map[string]bool{untracked: true, endedID: true, foreign: false, young: false, inFlight: false, live.Data["authorization_id"].(string): false}
	for id, w := range want {
		if revoked[id] != w {
			t.Errorf("PAT %s: revoked %v, want %v", id, revoked[id], w)
		}
	}
	if rec, _ := getRecord(ctx, v.s, endedID); rec != nil {
		t.Error("tidy kept the record of the PAT it revoked")
	}
}

func TestWALRollback(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	ctx := context.Background()
	v.mustOK(t, logical.CreateOperation, "roles/r", map[string]any{"organization": "contoso", "scopes": "vso.code"})
	kept := v.mustOK(t, logical.ReadOperation, "creds/r", nil)
	keptID := kept.Data["authorization_id"].(string)
	keptName := kept.Data["display_name"].(string)
	const lost = "55555555-5555-4555-8555-555555555555"
	v.ado.Seed(adotest.PAT{Org: "contoso", AuthorizationID: lost, DisplayName: "vault-x r crashed", Scope: "vso.code", Token: "lost",
		ValidFrom: time.Now(), ValidTo: time.Now().Add(time.Hour), TargetAccounts: []string{}})
	for _, name := range []string{"vault-x r crashed", keptName} {
		data := map[string]any{"organization": "contoso", "display_name": name}
		if err := v.b.walRollback(ctx, &logical.Request{Storage: v.s}, walKindPAT, data); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := v.ado.Get(lost); !p.Revoked {
		t.Error("the rollback left the PAT of an unfinished mint live")
	}
	if p, _ := v.ado.Get(keptID); p.Revoked {
		t.Error("the rollback revoked a PAT that a lease holds")
	}
}

func TestPeriodicTidyEveryInterval(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	v.delegated(t)
	ctx := context.Background()
	v.mustOK(t, logical.UpdateOperation, "config", map[string]any{"tidy_interval": "30m"})
	v.mustOK(t, logical.CreateOperation, "roles/r", map[string]any{"organization": "contoso", "scopes": "vso.code"})
	engine, _ := engineID(ctx, v.s)
	var mu sync.Mutex
	now := time.Now()
	v.b.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	seed := func(id string) {
		v.ado.Seed(adotest.PAT{Org: "contoso", AuthorizationID: id, DisplayName: tagPrefix(engine) + "r lost " + id[:4], Scope: "vso.code",
			Token: "seeded" + id[:8], ValidFrom: time.Now().Add(-time.Hour), ValidTo: time.Now().Add(2 * time.Hour), TargetAccounts: []string{}})
	}
	tick := func() {
		if err := v.b.periodic(ctx, &logical.Request{Storage: v.s}); err != nil {
			t.Fatal(err)
		}
	}
	const first, second = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
	seed(first)
	tick()
	if p, _ := v.ado.Get(first); !p.Revoked {
		t.Fatal("the first periodic call did not tidy")
	}
	seed(second)
	tick()
	if p, _ := v.ado.Get(second); p.Revoked {
		t.Fatal("tidied again before tidy_interval passed")
	}
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	tick()
	if p, _ := v.ado.Get(second); !p.Revoked {
		t.Fatal("no tidy once tidy_interval passed")
	}
}

// TestEntraErrorsNeverEchoSecrets: a token endpoint that reflects what it was sent (the refresh
// token, the client secret) in its error description does not get it into Vault's answer.
func TestEntraErrorsNeverEchoSecrets(t *testing.T) {
	t.Parallel()
	reflect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"error":             "invalid_grant",
			"error_description": "AADSTS70008: the grant " + r.PostForm.Get("refresh_token") + r.PostForm.Get("client_secret") + " has expired.\r\nTrace ID: x",
			"error_codes":       []int{70008},
		})
	}))
	t.Cleanup(reflect.Close)
	for _, field := range []string{"refresh_token", "client_secret"} {
		t.Run(field, func(t *testing.T) {
			v := newEnv(t)
			const value = "SECRET-VALUE-0123456789"
			v.mustOK(t, logical.CreateOperation, "config", map[string]any{
				"tenant_id": "contoso.example", "client_id": v.clientID, field: value,
				"authority_host": reflect.URL, "ado_url": v.ado.URL,
			})
			v.mustOK(t, logical.CreateOperation, "roles/r", map[string]any{"credential_type": "entra_token"})
			msg := v.mustFail(t, logical.ReadOperation, "creds/r", nil, "AADSTS70008")
			if strings.Contains(msg, value) || strings.Contains(v.log.String(), value) {
				t.Errorf("the secret sent to Entra came back in the answer or the log: %q", msg)
			}
			if strings.Contains(msg, "Trace ID") {
				t.Errorf("more than the description's first line: %q", msg)
			}
		})
	}
}
