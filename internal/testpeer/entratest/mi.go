package entratest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// IMDS is the Azure Instance Metadata Service's managed identity endpoint, on plain HTTP as the
// real one is (at 169.254.169.254): GET /metadata/identity/oauth2/token?api-version=2018-02-01
// &resource=RES[&client_id=ID] with "Metadata: true". It also answers requests in proxy form
// (GET http://169.254.169.254/metadata/...), so that a program whose HTTP_PROXY is URL reaches it
// at the real address, as the Azure SDK insists on.
type IMDS struct {
	URL string // "http://127.0.0.1:PORT"

	srv      *httptest.Server
	mu       sync.Mutex
	requests int
}

// StartIMDS serves the managed identities registered on s (AddManagedIdentity).
func StartIMDS(t testing.TB, s *Server) *IMDS {
	t.Helper()
	m := &IMDS{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.requests++
		m.mu.Unlock()
		if r.URL.Path != "/metadata/identity/oauth2/token" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Metadata") != "true" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Required metadata header not specified"})
			return
		}
		q := r.URL.Query()
		if q.Get("api-version") == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"})
			return
		}
		s.managedToken(w, r, q.Get("resource"), q.Get("client_id"), true)
	}))
	t.Cleanup(m.srv.Close)
	m.URL = m.srv.URL
	return m
}

// Down stops the endpoint: connections are refused from now on.
func (m *IMDS) Down() { m.srv.Close() }

// Requests is how many requests the endpoint saw.
func (m *IMDS) Requests() int { m.mu.Lock(); defer m.mu.Unlock(); return m.requests }

// ProxyEnv is the environment that sends a program's requests for http://169.254.169.254 here.
func (m *IMDS) ProxyEnv() map[string]string {
	return map[string]string{"HTTP_PROXY": m.URL, "http_proxy": m.URL, "NO_PROXY": "", "no_proxy": ""}
}

// AppService is the managed identity endpoint of App Service, Container Apps and Functions:
// GET IDENTITY_ENDPOINT?resource=RES&api-version=2019-08-01[&client_id=ID] with
// "X-IDENTITY-HEADER: IDENTITY_HEADER".
type AppService struct {
	Endpoint string // IDENTITY_ENDPOINT
	Header   string // IDENTITY_HEADER
	srv      *httptest.Server
}

// StartAppService serves the managed identities registered on s, on 127.0.0.1 over HTTP as the
// platform's local endpoint is.
func StartAppService(t testing.TB, s *Server) *AppService {
	t.Helper()
	a := &AppService{Header: randHex(16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/msi/token" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("X-IDENTITY-HEADER") != a.Header {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "The request is not authorized: X-IDENTITY-HEADER is missing or wrong."})
			return
		}
		q := r.URL.Query()
		if q.Get("api-version") != "2019-08-01" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "api-version must be 2019-08-01."})
			return
		}
		s.managedToken(w, r, q.Get("resource"), q.Get("client_id"), false)
	}))
	a.srv.Listener.Close()
	a.srv.Listener = ln
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	a.Endpoint = a.srv.URL + "/msi/token"
	return a
}

// Down stops the endpoint.
func (a *AppService) Down() { a.srv.Close() }

// Env is the environment the platform gives a process.
func (a *AppService) Env() map[string]string {
	return map[string]string{"IDENTITY_ENDPOINT": a.Endpoint, "IDENTITY_HEADER": a.Header}
}

// managedToken answers a managed identity token request: the v1-style answer, with expires_on
// as epoch seconds in a string (and, from IMDS, expires_in too).
func (s *Server) managedToken(w http.ResponseWriter, r *http.Request, resource, clientID string, imds bool) {
	if resource == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"})
		return
	}
	s.mu.Lock()
	if clientID == "" {
		clientID = s.system
	}
	known := clientID != "" && s.managed[clientID]
	knownRes := s.resources[strings.TrimSuffix(resource, "/")]
	s.mu.Unlock()
	if !known {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Identity not found"})
		return
	}
	if !knownRes {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_resource",
			"error_description": "AADSTS500011: The resource principal named " + resource + " was not found in the tenant named " + s.Tenant + "."})
		return
	}
	tok, life := s.issue(clientID, strings.TrimSuffix(resource, "/"), "managed_identity")
	now := time.Now()
	secs := strconv.Itoa(int(life / time.Second))
	out := map[string]any{
		"access_token": tok, "client_id": clientID, "expires_on": strconv.FormatInt(now.Add(life).Unix(), 10),
		"resource": resource, "token_type": "Bearer",
	}
	if imds {
		out["expires_in"], out["ext_expires_in"], out["not_before"] = secs, secs, strconv.FormatInt(now.Unix(), 10)
	}
	writeJSON(w, http.StatusOK, out)
}
