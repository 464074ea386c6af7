package entratest

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// AzureDevOps is the resource id of Azure DevOps; its default scope is AzureDevOps + "/.default".
const AzureDevOps = "499b84ac-1321-427f-aa17-267ca6975798"

// The client assertion type of RFC 7523, the only one Entra takes.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// FederatedCredential is a federated identity credential of an app registration or a
// user-assigned managed identity: an external token is exchanged when its iss, sub and aud match
// one of them exactly (Entra matches case-sensitively).
type FederatedCredential struct {
	Issuer, Subject string
	Audience        string // "" means api://AzureADTokenExchange
}

// App is an application (its service principal) in the tenant.
type App struct {
	ClientID     string
	Secret       string              // a client secret it accepts, "" none
	Certificates []*x509.Certificate // certificates whose keys may sign its client assertions
	Federated    []FederatedCredential
}

// Grant is what an access token the server issued stands for.
type Grant struct {
	Tenant, ClientID, Resource string
	Expires                    time.Time
	How                        string // client_secret, client_certificate, federated, refresh_token, managed_identity
}

// TokenRequest is one request to a token endpoint, as the server saw it (no secret in it).
type TokenRequest struct {
	Tenant, GrantType, ClientID, Scope string
	AssertionIssuer, AssertionSubject  string
	Error                              string // "AADSTS700213" etc., "" for success
}

// Options configure a Server.
type Options struct {
	TokenLifetime   time.Duration // access tokens; default an hour (the issue's tests use 20 s)
	RefreshLifetime time.Duration // refresh tokens issued by rotation; default 90 days
	Resources       []string      // resources a scope may name; default Azure DevOps
}

// Server is the Entra ID stand-in: one tenant (Tenant), HTTPS under the test CA.
type Server struct {
	URL    string // the authority host, "https://127.0.0.1:PORT/" (for AZURE_AUTHORITY_HOST)
	Tenant string // the tenant id, a GUID

	ca     *CA
	client *http.Client
	key    *rsa.PrivateKey
	kid    string

	mu        sync.Mutex
	opts      Options
	apps      map[string]*App
	managed   map[string]bool // client ids of managed identities
	system    string          // the client id of the system-assigned managed identity
	tokens    map[string]Grant
	refresh   map[string]refreshGrant
	requests  []TokenRequest
	resources map[string]bool
}

type refreshGrant struct {
	clientID, scope string
	expires         time.Time
}

// Start starts the server. It stops when the test ends.
func Start(t testing.TB, ca *CA, o Options) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(randReader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if o.TokenLifetime == 0 {
		o.TokenLifetime = time.Hour
	}
	if o.RefreshLifetime == 0 {
		o.RefreshLifetime = 90 * 24 * time.Hour
	}
	if len(o.Resources) == 0 {
		o.Resources = []string{AzureDevOps}
	}
	s := &Server{Tenant: uuid(), ca: ca, client: ca.Client(), key: key, kid: randHex(8), opts: o,
		apps: map[string]*App{}, managed: map[string]bool{}, tokens: map[string]Grant{},
		refresh: map[string]refreshGrant{}, resources: map[string]bool{}}
	for _, r := range o.Resources {
		s.resources[r] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /common/discovery/instance", s.instanceDiscovery)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.keys)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	srv := ca.serve(t, mux)
	s.URL = srv.URL + "/"
	return s
}

// Authority is the authority of the tenant: URL + Tenant.
func (s *Server) Authority() string { return s.URL + s.Tenant }

// TokenEndpoint is the tenant's v2.0 token endpoint.
func (s *Server) TokenEndpoint() string { return s.URL + s.Tenant + "/oauth2/v2.0/token" }

// AddApp registers an application. Its client id must be new.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := a
	s.apps[a.ClientID] = &c
}

// AddFederatedCredential adds a federated credential to a registered app.
func (s *Server) AddFederatedCredential(clientID string, fc FederatedCredential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID].Federated = append(s.apps[clientID].Federated, fc)
}

// AddManagedIdentity registers a managed identity (an app without credentials of its own, whose
// tokens the IMDS and App Service stand-ins hand out); systemAssigned makes it the identity those
// endpoints use when no client_id is asked for.
func (s *Server) AddManagedIdentity(clientID string, systemAssigned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[clientID]; !ok {
		s.apps[clientID] = &App{ClientID: clientID}
	}
	s.managed[clientID] = true
	if systemAssigned {
		s.system = clientID
	}
}

// SetTokenLifetime changes the lifetime of the access tokens issued from now on.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	s.opts.TokenLifetime = d
	s.mu.Unlock()
}

// NewRefreshToken issues a refresh token of clientID for scope, as a user's sign-in would have,
// valid for ttl (already expired when ttl <= 0).
func (s *Server) NewRefreshToken(clientID, scope string, ttl time.Duration) string {
	tok := "0.A" + randHex(48)
	s.mu.Lock()
	s.refresh[tok] = refreshGrant{clientID: clientID, scope: scope, expires: time.Now().Add(ttl)}
	s.mu.Unlock()
	return tok
}

// Valid tells whether tok is an access token the server issued and that has not expired.
func (s *Server) Valid(tok string) (Grant, bool) {
	s.mu.Lock()
	g, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !time.Now().Before(g.Expires) {
		return Grant{}, false
	}
	return g, true
}

// Issued is every access token issued so far (for tests that look for them in output).
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

// Requests is every token request so far.
func (s *Server) Requests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.requests...)
}

// BearerGate wraps next: only requests with "Authorization: Bearer T" for a token T the server
// issued, unexpired, for resource, pass; anything else gets 401 with a Bearer challenge. A
// resource server of the tests (git, a feed) is such a gate.
func (s *Server) BearerGate(resource string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			if g, ok := s.Valid(h[7:]); ok && g.Resource == resource {
				next.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+s.Authority()+`"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

// issue makes an access token of clientID for resource.
func (s *Server) issue(clientID, resource, how string) (string, time.Duration) {
	s.mu.Lock()
	life := s.opts.TokenLifetime
	s.mu.Unlock()
	now := time.Now()
	exp := now.Add(life)
	claims := Claims{
		"aud": resource, "iss": "https://sts.windows.net/" + s.Tenant + "/", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": exp.Unix(), "appid": clientID, "appidacr": "2", "idtyp": "app", "oid": uuid(), "sub": uuid(),
		"tid": s.Tenant, "ver": "1.0", "uti": randHex(11),
	}
	if how == "refresh_token" {
		// A refresh token stands for a user's sign-in: its access tokens are delegated ones, with
		// the user's name and the granted permission instead of idtyp app.
		claims["idtyp"], claims["scp"], claims["upn"] = "user", "user_impersonation", "user@"+s.Tenant+".example"
		claims["appidacr"] = "0"
	}
	tok := signRS256(s.key, s.kid, nil, claims)
	s.mu.Lock()
	s.tokens[tok] = Grant{Tenant: s.Tenant, ClientID: clientID, Resource: resource, Expires: exp, How: how}
	s.mu.Unlock()
	return tok, life
}

func (s *Server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
	tenant := ""
	if err == nil {
		tenant = strings.SplitN(strings.TrimPrefix(ae.Path, "/"), "/", 2)[0]
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s.URL, "https://"), "/")
	if tenant == "" {
		s.fail(w, r, http.StatusBadRequest, "invalid_instance", 50049, "Unknown or invalid instance.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.URL + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []map[string]any{{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
	})
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("tenant")
	if t != s.Tenant {
		s.fail(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(t))
		return
	}
	base := s.URL + t
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []jwk{rsaJWK(s.kid, &s.key.PublicKey)}})
}

func tenantNotFound(t string) string {
	return fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t)
}

// aadErr is an error answer of the token endpoint.
type aadErr struct {
	status int
	err    string
	code   int
	desc   string
}

func (e *aadErr) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.desc) }

func bad(err string, code int, format string, a ...any) *aadErr {
	return &aadErr{status: http.StatusBadRequest, err: err, code: code, desc: fmt.Sprintf(format, a...)}
}

// fail answers an Entra error: error, error_description "AADSTSnnn: text Trace ID: ...
// Correlation ID: ... Timestamp: ...", error_codes, timestamp, trace_id, correlation_id, error_uri.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, e string, code int, desc string) {
	trace, corr := uuid(), r.Header.Get("client-request-id")
	if corr == "" {
		corr = uuid()
	}
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, map[string]any{
		"error":             e,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", code, desc, trace, corr, ts),
		"error_codes":       []int{code},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("%serror?code=%d", s.URL, code),
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	rec := TokenRequest{Tenant: r.PathValue("tenant")}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}()
	answer, err := s.tokenRequest(r, &rec)
	if err != nil {
		var ae *aadErr
		if !errors.As(err, &ae) {
			ae = bad("invalid_request", 900144, "%v", err)
		}
		rec.Error = fmt.Sprintf("AADSTS%d", ae.code)
		s.fail(w, r, ae.status, ae.err, ae.code, ae.desc)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) tokenRequest(r *http.Request, rec *TokenRequest) (map[string]any, error) {
	if rec.Tenant != s.Tenant {
		return nil, bad("invalid_request", 90002, "%s", tenantNotFound(rec.Tenant))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, bad("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	if err := r.ParseForm(); err != nil {
		return nil, bad("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	f := r.PostForm
	rec.GrantType, rec.ClientID, rec.Scope = f.Get("grant_type"), f.Get("client_id"), f.Get("scope")
	for _, p := range []string{"grant_type", "client_id", "scope"} {
		if f.Get(p) == "" {
			return nil, bad("invalid_request", 900144, "The request body must contain the following parameter: '%s'.", p)
		}
	}
	s.mu.Lock()
	app, ok := s.apps[rec.ClientID]
	var appCopy App
	if ok {
		appCopy = *app
		appCopy.Federated = append([]FederatedCredential(nil), app.Federated...)
	}
	s.mu.Unlock()
	if !ok {
		return nil, bad("unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", rec.ClientID, s.Tenant)
	}
	switch rec.GrantType {
	case "client_credentials":
		how, err := s.authenticate(r.Context(), &appCopy, f, rec, true)
		if err != nil {
			return nil, err
		}
		resource, err := s.scopeResource(rec.Scope, true)
		if err != nil {
			return nil, err
		}
		tok, life := s.issue(rec.ClientID, resource, how)
		secs := int(life.Round(time.Second) / time.Second)
		return map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok}, nil
	case "refresh_token":
		rt := f.Get("refresh_token")
		if rt == "" {
			return nil, bad("invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
		}
		if appCopy.Secret != "" || len(appCopy.Certificates) > 0 {
			if _, err := s.authenticate(r.Context(), &appCopy, f, rec, false); err != nil {
				return nil, err
			}
		}
		s.mu.Lock()
		g, ok := s.refresh[rt]
		s.mu.Unlock()
		switch {
		case !ok:
			return nil, bad("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		case g.clientID != rec.ClientID:
			return nil, bad("invalid_grant", 70000, "Provided grant is invalid or malformed.")
		case !time.Now().Before(g.expires):
			return nil, bad("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		}
		resource, err := s.scopeResource(rec.Scope, false)
		if err != nil {
			return nil, err
		}
		tok, life := s.issue(rec.ClientID, resource, "refresh_token")
		secs := int(life.Round(time.Second) / time.Second)
		out := map[string]any{"token_type": "Bearer", "scope": scopeOut(rec.Scope), "expires_in": secs, "ext_expires_in": secs, "access_token": tok}
		if hasScope(rec.Scope, "offline_access") {
			s.mu.Lock()
			rl := s.opts.RefreshLifetime
			s.mu.Unlock()
			out["refresh_token"] = s.NewRefreshToken(rec.ClientID, g.scope, rl)
		}
		return out, nil
	case "":
		return nil, bad("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		return nil, bad("unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", rec.GrantType)
	}
}

// authenticate checks the client's credential: a client secret, or a client assertion (a
// certificate assertion, or a federated token matched against the app's federated
// credentials). It returns how the client was authenticated.
func (s *Server) authenticate(ctx context.Context, app *App, f url.Values, rec *TokenRequest, required bool) (string, error) {
	secret, assertion, at := f.Get("client_secret"), f.Get("client_assertion"), f.Get("client_assertion_type")
	switch {
	case secret != "" && assertion != "":
		return "", bad("invalid_request", 90023, "Only one of client_secret and client_assertion may be given.")
	case secret != "":
		if app.Secret == "" || secret != app.Secret {
			e := bad("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)
			e.status = http.StatusUnauthorized
			return "", e
		}
		return "client_secret", nil
	case assertion == "" && at == "":
		return "", &aadErr{status: http.StatusUnauthorized, err: "invalid_client", code: 7000218,
			desc: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	case at != assertionType:
		return "", bad("invalid_request", 50027, "Invalid client_assertion_type '%s': the only one supported is '%s'.", at, assertionType)
	case assertion == "":
		return "", bad("invalid_request", 900144, "The request body must contain the following parameter: 'client_assertion'.")
	}
	h, c, signed, sig, err := parseJWT(assertion)
	if err != nil {
		return "", bad("invalid_client", 50027, "JWT token is invalid or malformed.")
	}
	rec.AssertionIssuer, rec.AssertionSubject = c.str("iss"), c.str("sub")
	now := time.Now()
	exp, hasExp := c.num("exp")
	nbf, hasNbf := c.num("nbf")
	timeRange := func() error {
		if !hasExp || now.Unix() >= exp || (hasNbf && now.Unix()+300 < nbf) {
			from := "1970-01-01T00:00:00.0000000Z"
			if hasNbf {
				from = time.Unix(nbf, 0).UTC().Format("2006-01-02T15:04:05.0000000Z")
			}
			return bad("invalid_client", 700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
				now.UTC().Format("2006-01-02T15:04:05.0000000Z"), from, time.Unix(exp, 0).UTC().Format("2006-01-02T15:04:05.0000000Z"))
		}
		return nil
	}
	if (h.X5t != "" || h.X5tS256 != "") && c.str("iss") == app.ClientID {
		// A certificate assertion, signed with the key of one of the app's certificates.
		var cert *x509.Certificate
		for _, k := range app.Certificates {
			s1, s256 := sha1.Sum(k.Raw), sha256.Sum256(k.Raw)
			// RFC 7515 says base64url; MSAL sends standard base64 with padding, which Entra takes.
			if (h.X5t != "" && thumb(h.X5t, s1[:])) || (h.X5tS256 != "" && thumb(h.X5tS256, s256[:])) {
				cert = k
			}
		}
		if cert == nil {
			return "", bad("invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s']", h.X5t+h.X5tS256)
		}
		if verifySig(h.Alg, cert.PublicKey, signed, sig) != nil {
			return "", bad("invalid_client", 700027, "Client assertion failed signature validation.")
		}
		if c.str("sub") != app.ClientID {
			return "", bad("invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
		}
		okAud := false
		for _, a := range c.aud() {
			okAud = okAud || a == s.TokenEndpoint() || a == s.URL+s.Tenant+"/v2.0"
		}
		if !okAud {
			return "", bad("invalid_client", 700022, "Client assertion audience claim does not match the expected value.")
		}
		if err := timeRange(); err != nil {
			return "", err
		}
		return "client_certificate", nil
	}
	// A federated token.
	if len(app.Federated) == 0 {
		return "", bad("invalid_request", 70021, "No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation", c.str("iss"), c.str("sub"), strings.Join(c.aud(), ","))
	}
	var byIssuer []FederatedCredential
	for _, fc := range app.Federated {
		if fc.Issuer == c.str("iss") {
			byIssuer = append(byIssuer, fc)
		}
	}
	if len(byIssuer) == 0 {
		return "", bad("invalid_client", 700211, "No matching federated identity record found for presented assertion issuer '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation", c.str("iss"))
	}
	if err := s.verifyFederated(ctx, c.str("iss"), h, signed, sig); err != nil {
		return "", bad("invalid_client", 700027, "Client assertion failed signature validation. (%v)", err)
	}
	if err := timeRange(); err != nil {
		return "", err
	}
	var bySubject []FederatedCredential
	for _, fc := range byIssuer {
		if fc.Subject == c.str("sub") {
			bySubject = append(bySubject, fc)
		}
	}
	if len(bySubject) == 0 {
		return "", bad("invalid_client", 700213, "No matching federated identity record found for presented assertion subject '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation", c.str("sub"))
	}
	for _, fc := range bySubject {
		want := fc.Audience
		if want == "" {
			want = "api://AzureADTokenExchange"
		}
		for _, a := range c.aud() {
			if a == want {
				return "federated", nil
			}
		}
	}
	return "", bad("invalid_client", 700212, "No matching federated identity record found for presented assertion audience '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation", strings.Join(c.aud(), ","))
}

// verifyFederated checks a federated token's signature with its issuer's keys, found through the
// issuer's OIDC discovery document, as Entra does.
func (s *Server) verifyFederated(ctx context.Context, iss string, h jwtHeader, signed, sig []byte) error {
	if !strings.HasPrefix(iss, "https://") {
		return errors.New("the issuer is not an https URL")
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := s.getJSON(ctx, strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return err
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := s.getJSON(ctx, doc.JWKSURI, &set); err != nil {
		return err
	}
	for _, k := range set.Keys {
		if k.Kid != h.Kid {
			continue
		}
		pub, err := k.public()
		if err != nil {
			return err
		}
		return verifySig(h.Alg, pub, signed, sig)
	}
	return fmt.Errorf("no key %q in the issuer's JWKS", h.Kid)
}

func (s *Server) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return json.Unmarshal(b, out)
}

// scopeResource checks a scope and returns its resource. Client credentials take exactly one
// RESOURCE/.default (with nothing but OIDC scopes beside it); a delegated scope may name
// RESOURCE/.default or RESOURCE/PERMISSION.
func (s *Server) scopeResource(scope string, clientCredentials bool) (string, error) {
	var res []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		res = append(res, sc)
	}
	if len(res) != 1 {
		return "", bad("invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	}
	i := strings.LastIndex(res[0], "/")
	if i < 0 || (clientCredentials && res[0][i+1:] != ".default") {
		return "", bad("invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	}
	resource := res[0][:i]
	s.mu.Lock()
	known := s.resources[resource]
	s.mu.Unlock()
	if !known {
		return "", bad("invalid_resource", 500011, "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, s.Tenant)
	}
	return resource, nil
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}

func scopeOut(scope string) string {
	var out []string
	for _, s := range strings.Fields(scope) {
		if s != "openid" && s != "profile" && s != "email" {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func thumb(claimed string, sum []byte) bool {
	return claimed == b64.EncodeToString(sum) || claimed == base64.StdEncoding.EncodeToString(sum)
}
