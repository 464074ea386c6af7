package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issuer is an OIDC issuer with a signing key of its own: it serves its discovery document at
// URL/.well-known/openid-configuration and its keys at the document's jwks_uri, which is where
// Entra looks for the keys of a federated credential's issuer.
type Issuer struct {
	URL string // the iss claim of its tokens; HTTPS, under the test CA
	key *rsa.PrivateKey
	kid string
}

func newIssuer(t testing.TB, mux *http.ServeMux, base, path string) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	i := &Issuer{URL: base + path, key: key, kid: randHex(8)}
	mux.HandleFunc("GET "+path+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                i.URL,
			"jwks_uri":                              i.URL + "/.well-known/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf"},
		})
	})
	mux.HandleFunc("GET "+path+"/.well-known/jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"keys": []jwk{rsaJWK(i.kid, &i.key.PublicKey)}})
	})
	return i
}

// StartIssuer starts a bare OIDC issuer (as a Kubernetes cluster's service account issuer or
// GitLab is, seen from Entra). Its tokens are made with Token or Sign.
func StartIssuer(t testing.TB, ca *CA) *Issuer {
	t.Helper()
	mux := http.NewServeMux()
	srv := ca.serve(t, mux)
	return newIssuer(t, mux, srv.URL, "")
}

// Sign signs claims as they are (no claim added), with the issuer's key.
func (i *Issuer) Sign(c Claims) string { return signRS256(i.key, i.kid, nil, c) }

// Token is a token of this issuer for sub and aud, valid for ttl from now (expired when ttl is
// negative).
func (i *Issuer) Token(sub, aud string, ttl time.Duration) string {
	now := time.Now()
	iat := now
	if ttl < 0 {
		iat = now.Add(ttl - time.Minute)
	}
	return i.Sign(Claims{
		"iss": i.URL, "sub": sub, "aud": aud, "jti": randHex(16),
		"iat": iat.Unix(), "nbf": iat.Unix(), "exp": now.Add(ttl).Unix(),
	})
}

// ForeignKey signs claims with a key the issuer does not publish, for tests of a forged token.
func (i *Issuer) ForeignKey(t testing.TB, c Claims) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signRS256(key, i.kid, nil, c)
}

// GitHub is the GitHub Actions ID token service of one job: GET RequestURL&audience=AUD with
// "Authorization: bearer RequestToken" answers {"value": JWT}. Without the right request token it
// answers 401, as a step of a job without `permissions: id-token: write` sees it (in which the
// two variables are not even set: Env leaves them out with NoPermission).
type GitHub struct {
	*Issuer
	Repository, Ref string
	RequestURL      string // ACTIONS_ID_TOKEN_REQUEST_URL
	RequestToken    string // ACTIONS_ID_TOKEN_REQUEST_TOKEN
	TTL             time.Duration

	mu       sync.Mutex
	subject  string
	requests int
}

// StartGitHub starts the ID token service of a job of repository ("owner/name") on ref
// ("refs/heads/main"); the subject of its tokens is repo:OWNER/NAME:ref:REF.
func StartGitHub(t testing.TB, ca *CA, repository, ref string) *GitHub {
	t.Helper()
	mux := http.NewServeMux()
	srv := ca.serve(t, mux)
	g := &GitHub{Issuer: newIssuer(t, mux, srv.URL, ""), Repository: repository, Ref: ref,
		RequestToken: "ghrt_" + randHex(20), TTL: 5 * time.Minute,
		subject: "repo:" + repository + ":ref:" + ref}
	plan, job := randHex(8), randHex(8)
	path := "/_apis/distributedtask/hubs/Actions/plans/" + plan + "/jobs/" + job + "/idtoken"
	g.RequestURL = srv.URL + path + "?api-version=2.0"
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.requests++
		sub := g.subject
		g.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+g.RequestToken && r.Header.Get("Authorization") != "bearer "+g.RequestToken {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			aud = "https://github.com/" + strings.SplitN(repository, "/", 2)[0]
		}
		now := time.Now()
		owner := strings.SplitN(repository, "/", 2)[0]
		writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": g.Sign(Claims{
			"iss": g.URL, "sub": sub, "aud": aud, "jti": randHex(16),
			"ref": ref, "repository": repository, "repository_owner": owner,
			"event_name": "push", "ref_type": "branch", "run_id": "1", "workflow": "ci",
			"iat": now.Unix(), "nbf": now.Add(-5 * time.Second).Unix(), "exp": now.Add(g.TTL).Unix(),
		})})
	})
	return g
}

// Subject is the sub claim of the tokens issued from now on.
func (g *GitHub) Subject() string { g.mu.Lock(); defer g.mu.Unlock(); return g.subject }

// SetSubject changes the sub claim (a job for an environment: repo:O/R:environment:NAME).
func (g *GitHub) SetSubject(s string) { g.mu.Lock(); g.subject = s; g.mu.Unlock() }

// Requests is how many ID token requests the service saw.
func (g *GitHub) Requests() int { g.mu.Lock(); defer g.mu.Unlock(); return g.requests }

// Env is the environment of a step of the job: GITHUB_ACTIONS and the two ID token variables.
func (g *GitHub) Env() map[string]string {
	return map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   g.RequestURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": g.RequestToken,
	}
}

// AzurePipelines is the OIDC token service of an Azure Pipelines job: POST
// SYSTEM_OIDCREQUESTURI?api-version=7.1&serviceConnectionId=ID with "Authorization: Bearer
// System.AccessToken" answers {"oidcToken": JWT} for the service connection, with iss
// URL (the stand-in of https://vstoken.dev.azure.com/ORGANIZATION-ID), sub
// sc://ORG/PROJECT/CONNECTION-NAME and aud api://AzureADTokenExchange.
type AzurePipelines struct {
	*Issuer
	Org, Project string
	RequestURI   string // SYSTEM_OIDCREQUESTURI
	AccessToken  string // System.AccessToken
	TTL          time.Duration

	mu          sync.Mutex
	connections map[string]string // id -> name
	requests    int
}

// StartAzurePipelines starts the OIDC service of a job in project of org.
func StartAzurePipelines(t testing.TB, ca *CA, org, project string) *AzurePipelines {
	t.Helper()
	mux := http.NewServeMux()
	srv := ca.serve(t, mux)
	orgID := uuid()
	p := &AzurePipelines{Issuer: newIssuer(t, mux, srv.URL, "/"+orgID), Org: org, Project: project,
		AccessToken: "ado_" + randHex(26), TTL: 10 * time.Minute, connections: map[string]string{}}
	path := "/" + org + "/" + uuid() + "/_apis/distributedtask/hubs/build/plans/" + uuid() + "/jobs/" + uuid() + "/oidctoken"
	p.RequestURI = srv.URL + path
	mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests++
		p.mu.Unlock()
		if !strings.EqualFold(r.Header.Get("Authorization"), "Bearer "+p.AccessToken) && r.Header.Get("Authorization") != "Bearer "+p.AccessToken {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, adoError("TF400813: The user '' is not authorized to access this resource.", "UnauthorizedRequestException"))
			return
		}
		id := r.URL.Query().Get("serviceConnectionId")
		if r.URL.Query().Get("api-version") == "" {
			writeJSON(w, http.StatusBadRequest, adoError("No api-version was supplied for the \"POST\" request.", "VssVersionNotSpecifiedException"))
			return
		}
		p.mu.Lock()
		name, ok := p.connections[id]
		p.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, adoError("Service connection "+id+" was not found or the pipeline is not authorized to use it.", "ServiceEndpointNotFoundException"))
			return
		}
		now := time.Now()
		writeJSON(w, http.StatusOK, map[string]any{"oidcToken": p.Sign(Claims{
			"iss": p.URL, "sub": "sc://" + org + "/" + project + "/" + name, "aud": "api://AzureADTokenExchange",
			"jti": randHex(16), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(p.TTL).Unix(),
		})})
	})
	return p
}

// AddServiceConnection adds a service connection the pipeline may use; it returns the subject
// of its tokens.
func (p *AzurePipelines) AddServiceConnection(id, name string) string {
	p.mu.Lock()
	p.connections[id] = name
	p.mu.Unlock()
	return "sc://" + p.Org + "/" + p.Project + "/" + name
}

// Requests is how many OIDC token requests the service saw.
func (p *AzurePipelines) Requests() int { p.mu.Lock(); defer p.mu.Unlock(); return p.requests }

// Env is the environment of a script step that maps System.AccessToken.
func (p *AzurePipelines) Env() map[string]string {
	return map[string]string{
		"TF_BUILD":              "True",
		"SYSTEM_OIDCREQUESTURI": p.RequestURI,
		"SYSTEM_ACCESSTOKEN":    p.AccessToken,
	}
}

func adoError(msg, typ string) map[string]any {
	return map[string]any{"$id": "1", "innerException": nil, "message": msg,
		"typeName": "Microsoft.VisualStudio.Services." + typ, "typeKey": typ, "errorCode": 0, "eventId": 3000}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	h := randHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}
