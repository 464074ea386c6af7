package cienv

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// The ID token endpoints of GitHub Actions and Azure Pipelines, as httptest servers that follow
// protocols.md sections 4.4 and 1.7, with their error cases.

const (
	ghRequestToken  = "gh-runtime-request-token-0123"
	adoAccessToken  = "ado-system-access-token-0123"
	issuedToken     = "eyJ.issued-id-token.sig"
	adoConnectionID = "5e7a1a2b-0000-4000-8000-000000000001"
)

func githubServer(t *testing.T, status int, body string, calls *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		if r.Method != http.MethodGet || r.URL.Path != "/_apis/distributedtask/idtoken" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+ghRequestToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Bad credentials"}`)
			return
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
		if r.URL.Query().Get("api-version") != "2.0" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		// The audience comes back in the token, so that the test sees what was asked.
		writeJSON(w, map[string]string{"value": issuedToken + "|aud=" + r.URL.Query().Get("audience")})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGitHubIDToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		aud      string
		reqToken string
		want     string
		wantErr  []string
		calls    int32
	}{
		{name: "with audience", status: 200, aud: "https://vault.example/ci a&b", reqToken: ghRequestToken,
			want: issuedToken + "|aud=https://vault.example/ci a&b", calls: 1},
		{name: "default audience", status: 200, reqToken: ghRequestToken, want: issuedToken + "|aud=", calls: 1},
		{name: "wrong request token", status: 200, reqToken: "nope-0123", calls: 1,
			wantErr: []string{"GitHub Actions ID token: GET ", "HTTP 401: Bad credentials", "request token is missing, expired or not allowed"}},
		{name: "forbidden", status: 403, body: `{"message":"Can't issue ID_TOKEN for audience"}`, reqToken: ghRequestToken, calls: 1,
			wantErr: []string{"HTTP 403: Can't issue ID_TOKEN for audience"}},
		{name: "server error, retried", status: 502, reqToken: ghRequestToken, calls: 3,
			wantErr: []string{"HTTP 502"}},
		{name: "no value", status: 200, body: "", reqToken: ghRequestToken, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var srv *httptest.Server
			if tt.name == "no value" {
				srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					writeJSON(w, map[string]string{"count": "1"})
				}))
				t.Cleanup(srv.Close)
				tt.wantErr = []string{`the answer has no "value"`}
			} else {
				srv = githubServer(t, tt.status, tt.body, &calls)
			}
			env := envconfig.MapLookuper(map[string]string{
				"GITHUB_ACTIONS":                 "true",
				"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/_apis/distributedtask/idtoken?api-version=2.0",
				"ACTIONS_ID_TOKEN_REQUEST_TOKEN": tt.reqToken,
			})
			got, err := IDToken(env, IDTokenOptions{Audience: tt.aud})(context.Background())
			checkFetch(t, got.Reveal(), err, tt.want, tt.wantErr, []string{ghRequestToken, issuedToken})
			if calls.Load() != tt.calls {
				t.Errorf("%d requests, want %d", calls.Load(), tt.calls)
			}
		})
	}
}

func TestAzureIDToken(t *testing.T) {
	t.Parallel()
	handler := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			switch {
			case r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/oidctoken"):
				w.WriteHeader(http.StatusNotFound)
			case r.Header.Get("Authorization") != "Bearer "+adoAccessToken:
				w.WriteHeader(http.StatusUnauthorized)
			case q.Get("api-version") != "7.1" || q.Get("serviceConnectionId") == "":
				w.WriteHeader(http.StatusBadRequest)
				writeJSON(w, map[string]string{"message": "serviceConnectionId is required"})
			case q.Get("serviceConnectionId") != adoConnectionID:
				w.WriteHeader(http.StatusNotFound)
				writeJSON(w, map[string]string{"message": "Service connection not found"})
			case status != 200:
				w.WriteHeader(status)
			default:
				writeJSON(w, map[string]string{"oidcToken": issuedToken})
			}
		}
	}
	ok := httptest.NewServer(handler(200))
	t.Cleanup(ok.Close)
	down := httptest.NewServer(handler(503))
	t.Cleanup(down.Close)
	uri := func(s *httptest.Server) string {
		return s.URL + "/contoso/project/_apis/distributedtask/hubs/build/plans/plan/jobs/job/oidctoken"
	}
	tests := []struct {
		name    string
		env     map[string]string
		conn    string
		want    string
		wantErr []string
	}{
		{"issued", map[string]string{"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": uri(ok), "SYSTEM_ACCESSTOKEN": adoAccessToken}, adoConnectionID, issuedToken, nil},
		{"task endpoint token", map[string]string{"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": uri(ok), "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN": adoAccessToken}, adoConnectionID, issuedToken, nil},
		{"unknown connection", map[string]string{"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": uri(ok), "SYSTEM_ACCESSTOKEN": adoAccessToken}, "other", "",
			[]string{"Azure Pipelines ID token for service connection other: POST ", "HTTP 404: Service connection not found"}},
		{"bad access token", map[string]string{"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": uri(ok), "SYSTEM_ACCESSTOKEN": "wrong-0123"}, adoConnectionID, "",
			[]string{"HTTP 401"}},
		{"server down", map[string]string{"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": uri(down), "SYSTEM_ACCESSTOKEN": adoAccessToken}, adoConnectionID, "",
			[]string{"HTTP 503"}},
		{"no access token", map[string]string{"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": uri(ok)}, adoConnectionID, "",
			[]string{"SYSTEM_ACCESSTOKEN is not set", "$(System.AccessToken)"}},
		{"no service connection", map[string]string{"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": uri(ok), "SYSTEM_ACCESSTOKEN": adoAccessToken}, "", "",
			[]string{"--vault-azure-service-connection"}},
		{"no request URI", map[string]string{"TF_BUILD": "True", "SYSTEM_ACCESSTOKEN": adoAccessToken}, adoConnectionID, "",
			[]string{"SYSTEM_OIDCREQUESTURI is not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := IDToken(envconfig.MapLookuper(tt.env), IDTokenOptions{AzureServiceConnection: tt.conn})(context.Background())
			checkFetch(t, got.Reveal(), err, tt.want, tt.wantErr, []string{adoAccessToken, issuedToken})
		})
	}
}

func TestIDTokenElsewhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"github without id-token permission", map[string]string{"GITHUB_ACTIONS": "true"}, "permissions: id-token: write"},
		{"gitlab", map[string]string{"GITLAB_CI": "true"}, "--vault-jwt env:VAULT_ID_TOKEN"},
		{"local", map[string]string{}, "not on a CI platform that issues ID tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := IDToken(envconfig.MapLookuper(tt.env), IDTokenOptions{})(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func checkFetch(t *testing.T, got string, err error, want string, wantErr, secrets []string) {
	t.Helper()
	if wantErr == nil {
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, got a token")
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q carries a secret", err)
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
