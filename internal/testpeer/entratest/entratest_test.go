package entratest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const scope = AzureDevOps + "/.default"

type answer struct {
	status int
	body   map[string]any
}

func (a answer) code() string {
	codes, _ := a.body["error_codes"].([]any)
	if len(codes) != 1 {
		return ""
	}
	b, _ := json.Marshal(codes[0])
	return "AADSTS" + string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) answer {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return answer{resp.StatusCode, m}
}

func get(t *testing.T, c *http.Client, u string, h map[string]string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return answer{resp.StatusCode, m}
}

func assertionForm(clientID, assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {scope},
		"client_assertion_type": {assertionType}, "client_assertion": {assertion}}
}

func TestFederatedGitHub(t *testing.T) {
	ca := NewCA(t)
	e := Start(t, ca, Options{TokenLifetime: 20 * time.Second})
	gh := StartGitHub(t, ca, "contoso/app", "refs/heads/main")
	e.AddApp(App{ClientID: "app-1", Federated: []FederatedCredential{{Issuer: gh.URL, Subject: "repo:contoso/app:ref:refs/heads/main"}}})
	c := ca.Client()

	// The job's ID token, as a step asks for it.
	idt := get(t, c, gh.RequestURL+"&audience=api://AzureADTokenExchange", map[string]string{"Authorization": "bearer " + gh.RequestToken})
	if idt.status != 200 {
		t.Fatalf("ID token: %v", idt)
	}
	a := post(t, c, e.TokenEndpoint(), assertionForm("app-1", idt.body["value"].(string)))
	if a.status != 200 || a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(20) {
		t.Fatalf("exchange: %v", a)
	}
	tok := a.body["access_token"].(string)
	g, ok := e.Valid(tok)
	if !ok || g.ClientID != "app-1" || g.Resource != AzureDevOps || g.How != "federated" {
		t.Fatalf("Valid: %+v %v", g, ok)
	}
	if _, ok := e.Valid(tok + "x"); ok {
		t.Fatal("a token the server did not issue is valid")
	}

	// Without the request token, as in a job without id-token: write.
	if a := get(t, c, gh.RequestURL+"&audience=x", nil); a.status != 401 {
		t.Fatalf("no request token: %v", a)
	}

	// The wrong audience (GitHub's default), another subject, a forged and an expired token.
	def := get(t, c, gh.RequestURL, map[string]string{"Authorization": "Bearer " + gh.RequestToken}).body["value"].(string)
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-1", def)); a.code() != "AADSTS700212" || a.status != 400 {
		t.Fatalf("wrong audience: %v", a)
	}
	gh.SetSubject("repo:contoso/app:pull_request")
	pr := get(t, c, gh.RequestURL+"&audience=api://AzureADTokenExchange", map[string]string{"Authorization": "Bearer " + gh.RequestToken}).body["value"].(string)
	a = post(t, c, e.TokenEndpoint(), assertionForm("app-1", pr))
	if a.code() != "AADSTS700213" || a.body["error"] != "invalid_client" || !strings.Contains(a.body["error_description"].(string), "repo:contoso/app:pull_request") {
		t.Fatalf("other subject: %v", a)
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id", "error_uri"} {
		if a.body[k] == nil {
			t.Errorf("error answer lacks %s: %v", k, a.body)
		}
	}
	claims := Claims{"iss": gh.URL, "sub": "repo:contoso/app:ref:refs/heads/main", "aud": "api://AzureADTokenExchange",
		"iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()}
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-1", gh.ForeignKey(t, claims))); a.code() != "AADSTS700027" {
		t.Fatalf("forged: %v", a)
	}
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-1", gh.Token("repo:contoso/app:ref:refs/heads/main", "api://AzureADTokenExchange", -time.Minute))); a.code() != "AADSTS700024" {
		t.Fatalf("expired: %v", a)
	}
	// Another issuer, an unknown app, the wrong tenant, the wrong grant and assertion type, a bad scope.
	other := StartIssuer(t, ca)
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-1", other.Token("repo:contoso/app:ref:refs/heads/main", "api://AzureADTokenExchange", time.Minute))); a.code() != "AADSTS700211" {
		t.Fatalf("other issuer: %v", a)
	}
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-2", def)); a.code() != "AADSTS700016" {
		t.Fatalf("unknown app: %v", a)
	}
	if a := post(t, c, e.URL+"11111111-2222-3333-4444-555555555555/oauth2/v2.0/token", assertionForm("app-1", def)); a.code() != "AADSTS90002" {
		t.Fatalf("wrong tenant: %v", a)
	}
	f := assertionForm("app-1", def)
	f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
	if a := post(t, c, e.TokenEndpoint(), f); a.status != 400 || a.code() != "AADSTS50027" {
		t.Fatalf("assertion type: %v", a)
	}
	f = assertionForm("app-1", def)
	f.Set("grant_type", "password")
	if a := post(t, c, e.TokenEndpoint(), f); a.body["error"] != "unsupported_grant_type" {
		t.Fatalf("grant type: %v", a)
	}
	for _, sc := range []string{AzureDevOps, "https://graph.microsoft.com/.default", scope + " https://graph.microsoft.com/.default"} {
		f = assertionForm("app-1", idt.body["value"].(string))
		f.Set("scope", sc)
		if a := post(t, c, e.TokenEndpoint(), f); a.body["error"] != "invalid_scope" && a.body["error"] != "invalid_resource" {
			t.Fatalf("scope %q: %v", sc, a)
		}
	}
	var codes []string
	for _, r := range e.Requests() {
		codes = append(codes, r.Error)
	}
	if len(codes) < 12 || codes[0] != "" {
		t.Fatalf("requests: %v", codes)
	}
}

func TestAzurePipelinesAndFile(t *testing.T) {
	ca := NewCA(t)
	e := Start(t, ca, Options{})
	ap := StartAzurePipelines(t, ca, "contoso", "web")
	sub := ap.AddServiceConnection("8f6a0b2c-0000-4000-a000-000000000001", "entra-ado")
	k8s := StartIssuer(t, ca)
	e.AddApp(App{ClientID: "app-1", Federated: []FederatedCredential{{Issuer: ap.URL, Subject: sub}, {Issuer: k8s.URL, Subject: "system:serviceaccount:ci:runner"}}})
	c := ca.Client()
	req, _ := http.NewRequest(http.MethodPost, ap.RequestURI+"?api-version=7.1&serviceConnectionId=8f6a0b2c-0000-4000-a000-000000000001", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+ap.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ OIDCToken string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-1", body.OIDCToken)); a.status != 200 {
		t.Fatalf("azure pipelines: %v", a)
	}
	req, _ = http.NewRequest(http.MethodPost, ap.RequestURI+"?api-version=7.1&serviceConnectionId=8f6a0b2c-0000-4000-a000-000000000001", nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without System.AccessToken: %v %v", resp, err)
	}
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-1", k8s.Token("system:serviceaccount:ci:runner", "api://AzureADTokenExchange", time.Hour))); a.status != 200 {
		t.Fatalf("file: %v", a)
	}
}

func TestSecretCertificateRefresh(t *testing.T) {
	ca := NewCA(t)
	e := Start(t, ca, Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "app"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	e.AddApp(App{ClientID: "app-s", Secret: "s3cret"})
	e.AddApp(App{ClientID: "app-c", Certificates: []*x509.Certificate{cert}})
	e.AddApp(App{ClientID: "public"})
	c := ca.Client()
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-s"}, "scope": {scope}, "client_secret": {"s3cret"}}
	if a := post(t, c, e.TokenEndpoint(), f); a.status != 200 {
		t.Fatalf("secret: %v", a)
	}
	f.Set("client_secret", "wrong")
	if a := post(t, c, e.TokenEndpoint(), f); a.status != 401 || a.code() != "AADSTS7000215" {
		t.Fatalf("wrong secret: %v", a)
	}
	f.Del("client_secret")
	if a := post(t, c, e.TokenEndpoint(), f); a.code() != "AADSTS7000218" {
		t.Fatalf("no credential: %v", a)
	}

	// A certificate assertion: ES256, x5t#S256.
	s256 := sha256.Sum256(cert.Raw)
	hb, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "JWT", "x5t#S256": b64.EncodeToString(s256[:])})
	now := time.Now()
	cb, _ := json.Marshal(Claims{"iss": "app-c", "sub": "app-c", "aud": e.TokenEndpoint(), "jti": "1", "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	in := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(in))
	r, s, _ := ecdsa.Sign(rand.Reader, key, sum[:])
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-c", in+"."+b64.EncodeToString(sig))); a.status != 200 {
		t.Fatalf("certificate: %v", a)
	}
	sig[5] ^= 1
	if a := post(t, c, e.TokenEndpoint(), assertionForm("app-c", in+"."+b64.EncodeToString(sig))); a.code() != "AADSTS700027" {
		t.Fatalf("bad certificate signature: %v", a)
	}

	// Refresh: a new access token and a rotated refresh token; an expired one is AADSTS70008.
	rt := e.NewRefreshToken("public", AzureDevOps+"/user_impersonation offline_access", time.Hour)
	rf := url.Values{"grant_type": {"refresh_token"}, "client_id": {"public"}, "refresh_token": {rt}, "scope": {AzureDevOps + "/.default offline_access"}}
	a := post(t, c, e.TokenEndpoint(), rf)
	if a.status != 200 || a.body["refresh_token"] == nil || a.body["refresh_token"] == rt {
		t.Fatalf("refresh: %v", a)
	}
	if _, ok := e.Valid(a.body["access_token"].(string)); !ok {
		t.Fatal("refreshed access token not valid")
	}
	// A refresh token stands for a user: its access tokens are delegated, not app-only.
	parts := strings.Split(a.body["access_token"].(string), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims["idtyp"] != "user" || claims["scp"] == nil || claims["upn"] == nil {
		t.Fatalf("refreshed access token claims: %v (%v)", claims, err)
	}
	rf.Set("refresh_token", a.body["refresh_token"].(string))
	if a := post(t, c, e.TokenEndpoint(), rf); a.status != 200 {
		t.Fatalf("rotated refresh token: %v", a)
	}
	rf.Set("refresh_token", e.NewRefreshToken("public", "x", -time.Second))
	if a := post(t, c, e.TokenEndpoint(), rf); a.code() != "AADSTS70008" || a.body["error"] != "invalid_grant" {
		t.Fatalf("expired refresh token: %v", a)
	}
}

func TestDiscoveryAndManagedIdentity(t *testing.T) {
	ca := NewCA(t)
	e := Start(t, ca, Options{})
	c := ca.Client()
	d := get(t, c, e.URL+"common/discovery/instance?api-version=1.1&authorization_endpoint="+url.QueryEscape(e.Authority()+"/oauth2/v2.0/authorize"), nil)
	oc := get(t, c, d.body["tenant_discovery_endpoint"].(string), nil)
	if oc.status != 200 || oc.body["token_endpoint"] != e.TokenEndpoint() || oc.body["issuer"] != e.Authority()+"/v2.0" {
		t.Fatalf("discovery: %v %v", d, oc)
	}
	if a := get(t, c, e.URL+"nope/v2.0/.well-known/openid-configuration", nil); a.code() != "AADSTS90002" {
		t.Fatalf("unknown tenant: %v", a)
	}

	e.AddManagedIdentity("mi-system", true)
	e.AddManagedIdentity("mi-user", false)
	imds := StartIMDS(t, e)
	plain := &http.Client{Timeout: 10 * time.Second}
	u := imds.URL + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + AzureDevOps
	if a := get(t, plain, u, nil); a.status != 400 {
		t.Fatalf("IMDS without Metadata: %v", a)
	}
	a := get(t, plain, u, map[string]string{"Metadata": "true"})
	if g, ok := e.Valid(a.body["access_token"].(string)); !ok || g.ClientID != "mi-system" {
		t.Fatalf("IMDS: %v", a)
	}
	a = get(t, plain, u+"&client_id=mi-user", map[string]string{"Metadata": "true"})
	if g, ok := e.Valid(a.body["access_token"].(string)); !ok || g.ClientID != "mi-user" {
		t.Fatalf("IMDS user-assigned: %v", a)
	}
	if a := get(t, plain, u+"&client_id=nobody", map[string]string{"Metadata": "true"}); a.status != 400 {
		t.Fatalf("IMDS unknown identity: %v", a)
	}
	// Through a proxy, at the real address.
	px, _ := url.Parse(imds.URL)
	proxied := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(px)}}
	if a := get(t, proxied, "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+AzureDevOps, map[string]string{"Metadata": "true"}); a.status != 200 {
		t.Fatalf("IMDS by proxy: %v", a)
	}
	as := StartAppService(t, e)
	u = as.Endpoint + "?api-version=2019-08-01&resource=" + AzureDevOps
	if a := get(t, plain, u, nil); a.status != 401 {
		t.Fatalf("App Service without header: %v", a)
	}
	a = get(t, plain, u, map[string]string{"X-IDENTITY-HEADER": as.Header})
	if _, ok := e.Valid(a.body["access_token"].(string)); !ok || a.body["expires_on"] == nil {
		t.Fatalf("App Service: %v", a)
	}
	imds.Down()
	if _, err := plain.Get(u); err != nil {
		t.Fatal("the App Service endpoint went down with IMDS")
	}
	if _, err := plain.Get(imds.URL); err == nil {
		t.Fatal("IMDS still up after Down")
	}
}
