package entra

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patinject/patinject/internal/testpeer/entratest"
	"github.com/patinject/patinject/secret"
)

type fixture struct {
	ca   *entratest.CA
	e    *entratest.Server
	gh   *entratest.GitHub
	ap   *entratest.AzurePipelines
	k8s  *entratest.Issuer
	conn string
}

const appID = "5b1c2d3e-0000-4000-a000-00000000a001"

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ca: entratest.NewCA(t)}
	f.e = entratest.Start(t, f.ca, entratest.Options{TokenLifetime: 20 * time.Second})
	f.gh = entratest.StartGitHub(t, f.ca, "contoso/app", "refs/heads/main")
	f.ap = entratest.StartAzurePipelines(t, f.ca, "contoso", "web")
	f.conn = "8f6a0b2c-0000-4000-a000-000000000001"
	f.k8s = entratest.StartIssuer(t, f.ca)
	f.e.AddApp(entratest.App{ClientID: appID, Federated: []entratest.FederatedCredential{
		{Issuer: f.gh.URL, Subject: f.gh.Subject()},
		{Issuer: f.ap.URL, Subject: f.ap.AddServiceConnection(f.conn, "entra-ado")},
		{Issuer: f.k8s.URL, Subject: "system:serviceaccount:ci:runner"},
	}})
	return f
}

func (f *fixture) source(env map[string]string) *Source {
	e := map[string]string{"AZURE_AUTHORITY_HOST": f.e.URL}
	for k, v := range env {
		e[k] = v
	}
	return &Source{Lookup: func(k string) (string, bool) { v, ok := e[k]; return v, ok }, HTTPClient: f.ca.Client()}
}

func ref(t *testing.T, s string) secret.Ref {
	t.Helper()
	r, err := secret.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func (f *fixture) mustResolve(t *testing.T, src *Source, r string) string {
	t.Helper()
	res, err := src.Resolve(context.Background(), ref(t, r))
	if err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	g, ok := f.e.Valid(res.Value.Reveal())
	if !ok || g.Resource != entratest.AzureDevOps {
		t.Fatalf("%s: not a valid Azure DevOps token: %+v", r, g)
	}
	if time.Until(res.Expiry) > 21*time.Second || time.Until(res.Expiry) < 0 {
		t.Fatalf("%s: expiry %v", r, res.Expiry)
	}
	return g.ClientID + "/" + g.How
}

func TestVias(t *testing.T) {
	f := setup(t)
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(f.k8s.Token("system:serviceaccount:ci:runner", DefaultAudience, time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	f.e.AddApp(entratest.App{ClientID: "secret-app", Secret: "the-client-secret-0123"})
	certPEM := newCertApp(t, f.e, "cert-app")
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	os.WriteFile(certFile, certPEM, 0o600)

	tenant := f.e.Tenant
	for _, tc := range []struct {
		name, ref string
		env       map[string]string
		want      string
	}{
		{"github", "entra://" + tenant + "?client_id=" + appID + "&via=github", f.gh.Env(), appID + "/federated"},
		{"github detected", "entra://" + tenant + "?client_id=" + appID, f.gh.Env(), appID + "/federated"},
		{"github from AZURE_*", "entra:?via=github", merge(f.gh.Env(), map[string]string{"AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": appID}), appID + "/federated"},
		{"azure-pipelines", "entra://" + tenant + "?client_id=" + appID + "&via=azure-pipelines&service_connection=" + f.conn, f.ap.Env(), appID + "/federated"},
		{"azure-pipelines detected", "entra://" + tenant + "?client_id=" + appID, merge(f.ap.Env(), map[string]string{"AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": f.conn}), appID + "/federated"},
		{"file", "entra://" + tenant + "?client_id=" + appID + "&via=file", map[string]string{"AZURE_FEDERATED_TOKEN_FILE": tokFile}, appID + "/federated"},
		{"file detected", "entra:", map[string]string{"AZURE_FEDERATED_TOKEN_FILE": tokFile, "AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": appID}, appID + "/federated"},
		{"client-secret", "entra://" + tenant + "?client_id=secret-app&via=client-secret&secret=env:SP_SECRET", map[string]string{"SP_SECRET": "the-client-secret-0123"}, "secret-app/client_secret"},
		{"client-certificate", "entra://" + tenant + "?client_id=cert-app&via=client-certificate&certificate=file:" + certFile, nil, "cert-app/client_certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.ref
			if r == "entra:" {
				r = "entra:?"
			}
			if got := f.mustResolve(t, f.source(tc.env), r); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// newCertApp registers an app with a certificate credential (RSA: the SDK signs with PS256 or RS256) and returns the PEM of the
// certificate and its key.
func newCertApp(t *testing.T, e *entratest.Server, id string) []byte {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: id}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	e.AddApp(entratest.App{ClientID: id, Certificates: []*x509.Certificate{cert}})
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
}

func TestManagedIdentity(t *testing.T) {
	f := setup(t)
	f.e.AddManagedIdentity("mi-system", true)
	f.e.AddManagedIdentity("mi-user", false)
	imds := entratest.StartIMDS(t, f.e)
	px, _ := url.Parse(imds.URL)
	src := f.source(nil)
	src.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(px)}}
	if got := f.mustResolve(t, src, "entra:?via=managed-identity"); got != "mi-system/managed_identity" {
		t.Fatalf("IMDS system-assigned: %s", got)
	}
	src = f.source(nil)
	src.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(px)}}
	if got := f.mustResolve(t, src, "entra:?via=managed-identity&client_id=mi-user"); got != "mi-user/managed_identity" {
		t.Fatalf("IMDS user-assigned: %s", got)
	}
	imds.Down()
	src = f.source(nil)
	src.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(px)}}
	_, err := src.Resolve(context.Background(), ref(t, "entra:?via=managed-identity"))
	if err == nil || !strings.Contains(err.Error(), "asking the managed identity endpoint (IMDS") {
		t.Fatalf("IMDS down: %v", err)
	}

	// App Service: the SDK reads IDENTITY_ENDPOINT from the process environment.
	as := entratest.StartAppService(t, f.e)
	for k, v := range as.Env() {
		t.Setenv(k, v)
	}
	src = f.source(as.Env())
	if got := f.mustResolve(t, src, "entra:?via=managed-identity"); got != "mi-system/managed_identity" {
		t.Fatalf("App Service: %s", got)
	}
	src = f.source(as.Env())
	if got := f.mustResolve(t, src, "entra:?client_id=mi-user"); got != "mi-user/managed_identity" {
		t.Fatalf("App Service detected: %s", got)
	}
}

func TestErrors(t *testing.T) {
	f := setup(t)
	tenant := f.e.Tenant
	expired := filepath.Join(t.TempDir(), "token")
	os.WriteFile(expired, []byte(f.k8s.Token("system:serviceaccount:ci:runner", DefaultAudience, -time.Minute)), 0o600)
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte(f.k8s.Token("system:serviceaccount:ci:other", DefaultAudience, time.Hour)), 0o600)
	noPerm := f.gh.Env()
	delete(noPerm, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(noPerm, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	badReq := merge(f.gh.Env(), map[string]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "expired-request-token"})
	for _, tc := range []struct {
		name, ref string
		env       map[string]string
		want      []string
	}{
		{"no federated credential for the subject", "entra://" + tenant + "?client_id=" + appID + "&via=file&token_file=" + other, nil,
			[]string{"exchanging it at " + f.e.TokenEndpoint(), "AADSTS700213", "sub system:serviceaccount:ci:other", "Federated credentials"}},
		{"wrong tenant", "entra://11111111-2222-3333-4444-555555555555?client_id=" + appID + "&via=github", f.gh.Env(),
			[]string{"AADSTS90002", "tenant 11111111-2222-3333-4444-555555555555 not found"}},
		{"expired assertion", "entra://" + tenant + "?client_id=" + appID + "&via=file&token_file=" + expired, nil,
			[]string{"exchanging it at", "AADSTS700024", "stale"}},
		{"unknown app", "entra://" + tenant + "?client_id=nope&via=github", f.gh.Env(), []string{"AADSTS700016", "no app with client id nope"}},
		{"no id-token: write", "entra://" + tenant + "?client_id=" + appID + "&via=github", noPerm,
			[]string{"getting the assertion (via github)", "id-token: write"}},
		{"request token refused", "entra://" + tenant + "?client_id=" + appID + "&via=github", badReq,
			[]string{"getting the assertion (via github)", "HTTP 401"}},
		{"wrong service connection", "entra://" + tenant + "?client_id=" + appID + "&via=azure-pipelines&service_connection=nope", f.ap.Env(),
			[]string{"getting the assertion (via azure-pipelines)", "HTTP 404"}},
		{"no token file", "entra://" + tenant + "?client_id=" + appID + "&via=file&token_file=/nonexistent/token", nil,
			[]string{"getting the assertion (via file)", "/nonexistent/token"}},
		{"bad scope", "entra://" + tenant + "?client_id=" + appID + "&via=github&scope=https://graph.microsoft.com/.default", f.gh.Env(),
			[]string{"AADSTS500011"}},
		{"nothing detected", "entra://" + tenant + "?client_id=" + appID, map[string]string{"PATH": ""}, []string{"no way to an Entra token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.source(tc.env).Resolve(context.Background(), ref(t, tc.ref))
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), f.gh.RequestToken) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error carries a token or several lines:\n%v", err)
			}
		})
	}
	for _, issued := range f.e.Issued() {
		t.Errorf("a token was issued: %.20s...", issued)
	}
}

func TestCheck(t *testing.T) {
	s := &Source{Lookup: func(string) (string, bool) { return "", false }}
	for _, bad := range []string{
		"entra://t?client_id=x&via=carrier-pigeon", "entra://t?client_id=x&nope=1", "entra://t/x?client_id=x",
		"entra://t?via=client-secret&client_id=x", "entra://t#field", "entra:tenant",
	} {
		if err := s.Check(ref(t, bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	for _, good := range []string{"entra://t?client_id=x", "entra:?via=github", "entra://t?client_id=x&via=cli&scope=a/.default"} {
		if err := s.Check(ref(t, good)); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
}

// A credential hands out the same token until it nears expiry, then a new one, with a new
// assertion each time.
func TestRefresh(t *testing.T) {
	f := setup(t)
	src := f.source(f.gh.Env())
	c, err := src.Credential(context.Background(), ref(t, "entra://"+f.e.Tenant+"?client_id="+appID+"&via=github"))
	if err != nil {
		t.Fatal(err)
	}
	a, exp, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := c.Token(context.Background())
	if a.Reveal() != b.Reveal() {
		t.Fatal("a fresh token was replaced")
	}
	f.e.SetTokenLifetime(time.Hour)
	for time.Until(exp) > 10*time.Second {
		time.Sleep(200 * time.Millisecond)
	}
	n := f.gh.Requests()
	b, exp2, err := c.Token(context.Background())
	if err != nil || a.Reveal() == b.Reveal() || !exp2.After(exp) || f.gh.Requests() != n+1 {
		t.Fatalf("not refreshed: %v %v %d", err, exp2, f.gh.Requests()-n)
	}
}
