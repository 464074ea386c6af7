// Package entra is the entra:// source: a Microsoft Entra access token for Azure DevOps, from
// the CI job's own identity by workload identity federation (GitHub Actions and Azure Pipelines
// OIDC tokens, a federated token file), from a managed identity, from a client secret or
// certificate, or from the Azure CLI. No PAT is minted and nothing is stored.
//
//	entra://TENANT?client_id=ID[&via=VIA][&scope=S][&audience=A][&service_connection=ID]
//	              [&token_file=PATH][&secret=REF][&certificate=REF]
//	entra:?via=github            (tenant and client id from AZURE_TENANT_ID and AZURE_CLIENT_ID)
//
// The exchange is the Azure SDK's (azidentity): client credentials with a client assertion
// against {AZURE_AUTHORITY_HOST or https://login.microsoftonline.com/}TENANT/oauth2/v2.0/token.
package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/internal/platform"
	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/envsrc"
	"github.com/patinject/patinject/source/filesrc"
)

const (
	// Scheme is the reference scheme of this source.
	Scheme = "entra"
	// DefaultScope is Azure DevOps.
	DefaultScope = "499b84ac-1321-427f-aa17-267ca6975798/.default"
	// DefaultAudience is the audience Entra expects of a federated token.
	DefaultAudience = "api://AzureADTokenExchange"
	// DefaultAuthority is the public cloud's; AZURE_AUTHORITY_HOST changes it.
	DefaultAuthority = "https://login.microsoftonline.com/"
)

// The ways to an assertion or a token, in the order the default detects them.
var vias = []string{"github", "azure-pipelines", "file", "managed-identity", "client-secret", "client-certificate", "cli"}

var params = []string{"client_id", "via", "scope", "audience", "service_connection", "token_file", "secret", "certificate"}

// Source resolves entra references.
type Source struct {
	Lookup func(string) (string, bool) // the environment (os.LookupEnv in production)
	Log    *slog.Logger                // nil: discard
	// HTTPClient makes the requests for ID tokens and to Entra; nil: the Azure SDK's default
	// transport (system roots and SSL_CERT_FILE, HTTP(S)_PROXY).
	HTTPClient *http.Client
	// Nested resolves the REF of secret= and certificate=; nil: env:NAME and file:PATH only.
	Nested func(ctx context.Context, ref secret.Ref) (secret.Value, error)
	// Used, when set, is told of every credential the source reads or obtains besides the
	// token itself (the CI's ID token, a client secret or certificate), so that it is redacted
	// like a secret and the variable it came from is kept from the command.
	Used func(what string, v secret.Value, envVar string)

	mu    sync.Mutex
	creds map[string]*Credential
}

var _ resolve.Source = (*Source)(nil)
var _ resolve.Checker = (*Source)(nil)

// config is a parsed reference.
type config struct {
	tenant, clientID, via, scope, audience string
	serviceConnection, tokenFile           string
	secretRef, certRef                     string
	authority                              string
	detected                               string // why this via, when it was detected
}

func (s *Source) env(k string) string {
	if s.Lookup == nil {
		return ""
	}
	v, _ := s.Lookup(k)
	return v
}

func (s *Source) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// query is the parameters of an entra://TENANT?... or entra:?... reference.
func query(ref secret.Ref) (tenant string, q url.Values, err error) {
	if ref.Opaque != "" || ref.Path == "" {
		rest := ref.Opaque
		if !strings.HasPrefix(rest, "?") && rest != "" {
			return "", nil, errors.New("want entra://TENANT?client_id=ID&via=... or entra:?via=... (tenant and client id from AZURE_TENANT_ID, AZURE_CLIENT_ID)")
		}
		q, err := url.ParseQuery(strings.TrimPrefix(rest, "?"))
		if err != nil {
			return "", nil, errors.New("bad parameters after '?'")
		}
		return "", q, nil
	}
	if strings.Contains(ref.Path, "/") {
		return "", nil, errors.New("want entra://TENANT?client_id=ID&via=...: nothing after the tenant but parameters")
	}
	return ref.Path, ref.Query, nil
}

// Check validates a reference without I/O.
func (s *Source) Check(ref secret.Ref) error {
	_, err := s.config(ref, false)
	return err
}

func (s *Source) config(ref secret.Ref, detect bool) (*config, error) {
	tenant, q, err := query(ref)
	if err != nil {
		return nil, err
	}
	if ref.Fragment != "" {
		return nil, errors.New("an entra reference has no #field")
	}
	for k, v := range q {
		if !slices.Contains(params, k) {
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", k, strings.Join(params, ", "))
		}
		if len(v) != 1 {
			return nil, fmt.Errorf("parameter %q given %d times", k, len(v))
		}
	}
	c := &config{tenant: tenant, clientID: q.Get("client_id"), via: q.Get("via"), scope: q.Get("scope"),
		audience: q.Get("audience"), serviceConnection: q.Get("service_connection"), tokenFile: q.Get("token_file"),
		secretRef: q.Get("secret"), certRef: q.Get("certificate")}
	if c.via != "" && !slices.Contains(vias, c.via) {
		return nil, fmt.Errorf("via=%s: want one of %s (or no via: detected from the environment)", c.via, strings.Join(vias, ", "))
	}
	if c.via == "client-secret" && c.secretRef == "" {
		return nil, errors.New("via=client-secret needs secret=REF (env:NAME, file:PATH)")
	}
	if c.via == "client-certificate" && c.certRef == "" {
		return nil, errors.New("via=client-certificate needs certificate=REF to a PEM certificate and key")
	}
	for _, r := range []string{c.secretRef, c.certRef} {
		if r != "" {
			if _, err := secret.ParseRef(r); err != nil {
				return nil, fmt.Errorf("secret=/certificate=: %w", err)
			}
		}
	}
	if c.scope == "" {
		c.scope = DefaultScope
	}
	if c.audience == "" {
		c.audience = DefaultAudience
	}
	if c.tenant == "" {
		c.tenant = s.env("AZURE_TENANT_ID")
	}
	if c.clientID == "" && c.via != "managed-identity" {
		c.clientID = s.env("AZURE_CLIENT_ID")
	}
	c.authority = s.env("AZURE_AUTHORITY_HOST")
	if c.authority == "" {
		c.authority = DefaultAuthority
	}
	if u, err := url.Parse(c.authority); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("AZURE_AUTHORITY_HOST is not an https URL")
	}
	if !strings.HasSuffix(c.authority, "/") {
		c.authority += "/"
	}
	if !detect {
		return c, nil
	}
	if c.via == "" {
		c.via, c.detected = s.detect(c)
		if c.via == "" {
			return nil, errors.New("no way to an Entra token found: not on GitHub Actions with id-token: write (ACTIONS_ID_TOKEN_REQUEST_URL), not on Azure Pipelines with a service connection (SYSTEM_OIDCREQUESTURI), no AZURE_FEDERATED_TOKEN_FILE, no managed identity endpoint (IDENTITY_ENDPOINT), no secret=/certificate=, no az on PATH; give via=... (via=managed-identity for a VM's IMDS)")
		}
	}
	switch c.via {
	case "managed-identity", "cli":
	default:
		if c.tenant == "" {
			return nil, errors.New("no tenant: give entra://TENANT?... or set AZURE_TENANT_ID")
		}
		if c.clientID == "" {
			return nil, errors.New("no client id: give client_id=ID (the app registration or user-assigned identity) or set AZURE_CLIENT_ID")
		}
	}
	if c.tenant != "" && !validTenant(c.tenant) {
		return nil, errors.New("the tenant is not a tenant id or domain name")
	}
	return c, nil
}

func validTenant(t string) bool {
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return t != ""
}

// detect chooses the way to a token from the environment, in the documented order.
func (s *Source) detect(c *config) (via, why string) {
	switch {
	case s.env("ACTIONS_ID_TOKEN_REQUEST_URL") != "":
		return "github", "ACTIONS_ID_TOKEN_REQUEST_URL is set (GitHub Actions with id-token: write)"
	case s.env("SYSTEM_OIDCREQUESTURI") != "" && (c.serviceConnection != "" || s.env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID") != ""):
		return "azure-pipelines", "SYSTEM_OIDCREQUESTURI is set and a service connection is named (Azure Pipelines)"
	case c.tokenFile != "" || s.env("AZURE_FEDERATED_TOKEN_FILE") != "":
		return "file", "a federated token file is named (token_file= or AZURE_FEDERATED_TOKEN_FILE)"
	case s.env("IDENTITY_ENDPOINT") != "" || s.env("MSI_ENDPOINT") != "":
		return "managed-identity", "IDENTITY_ENDPOINT is set (App Service, Container Apps, Arc)"
	case c.secretRef != "":
		return "client-secret", "secret= is given"
	case c.certRef != "":
		return "client-certificate", "certificate= is given"
	}
	if p := platform.LookPath(goruntime.GOOS, "az", func(k string) (string, bool) { v := s.env(k); return v, v != "" }, os.Stat); p != "" {
		return "cli", "az is on PATH"
	}
	return "", ""
}

// Resolve gets an access token for the reference.
func (s *Source) Resolve(ctx context.Context, ref secret.Ref) (resolve.Resolved, error) {
	cred, err := s.Credential(ctx, ref)
	if err != nil {
		return resolve.Resolved{}, err
	}
	v, exp, err := cred.Token(ctx)
	if err != nil {
		return resolve.Resolved{}, err
	}
	return resolve.Resolved{Value: v, Expiry: exp}, nil
}

// Credential returns the credential of a reference, made once per reference: its Token gets a
// fresh access token when the last is near expiry, for a credential helper of a long job.
func (s *Source) Credential(ctx context.Context, ref secret.Ref) (*Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.creds[ref.Raw]; ok {
		return c, nil
	}
	c, err := s.config(ref, true)
	if err != nil {
		return nil, err
	}
	if c.detected != "" {
		s.log().Debug("entra: way to a token detected", "ref", ref.Raw, "via", c.via, "because", c.detected)
	}
	cred, err := s.newCredential(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.creds == nil {
		s.creds = map[string]*Credential{}
	}
	s.creds[ref.Raw] = cred
	return cred, nil
}

// Credential gets and refreshes the access token of one reference.
type Credential struct {
	cfg  *config
	tc   azcore.TokenCredential
	log  *slog.Logger
	what string // "exchanging it at URL" or "asking URL"

	mu           sync.Mutex
	last         secret.Value
	exp          time.Time
	margin       time.Duration // replace the token this long before exp
	assertionErr error         // the last failure to get an assertion, set by the assertion callback
	assertion    string        // claims of the last assertion, for hints: "iss X, sub Y, aud Z"
}

// Via is how the credential gets its token.
func (c *Credential) Via() string { return c.cfg.via }

// Margin is how long before its expiry a token is replaced.
const Margin = 2 * time.Minute

// Token returns an access token valid for a while yet: the last one, unless it expires within
// Margin (within half its lifetime, for short ones), else a new one.
func (c *Credential) Token(ctx context.Context) (secret.Value, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.Len() > 0 && time.Until(c.exp) > c.margin {
		return c.last, c.exp, nil
	}
	c.assertionErr, c.assertion = nil, ""
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tok, err := c.tc.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.cfg.scope}, TenantID: c.cfg.tenant})
	if err != nil {
		return secret.Value{}, time.Time{}, c.explain(err)
	}
	c.last, c.exp = secret.NewValue(tok.Token), tok.ExpiresOn
	c.margin = min(Margin, time.Until(c.exp)/2)
	c.log.Debug("entra: access token", "via", c.cfg.via, "expires", c.exp.UTC().Format(time.RFC3339))
	return c.last, c.exp, nil
}

func (s *Source) clientOptions() azcore.ClientOptions {
	o := azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 2 * time.Second, TryTimeout: 30 * time.Second},
		// No telemetry header, no logging of requests.
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}
	if s.HTTPClient != nil {
		o.Transport = s.HTTPClient
	}
	return o
}

func (s *Source) httpClient() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (s *Source) newCredential(ctx context.Context, c *config) (*Credential, error) {
	cred := &Credential{cfg: c, log: s.log()}
	co := s.clientOptions()
	co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: c.authority}
	tokenURL := c.authority + c.tenant + "/oauth2/v2.0/token"
	cred.what = "exchanging it at " + tokenURL
	var err error
	switch c.via {
	case "github", "azure-pipelines", "file":
		get, gerr := s.assertion(c)
		if gerr != nil {
			return nil, fmt.Errorf("getting the assertion (via %s): %w", c.via, gerr)
		}
		cred.tc, err = azidentity.NewClientAssertionCredential(c.tenant, c.clientID, func(ctx context.Context) (string, error) {
			a, err := get(ctx)
			if err != nil {
				cred.assertionErr = err
				return "", err
			}
			cred.assertion = describeJWT(a.Reveal())
			s.used("the "+c.via+" ID token exchanged for the Entra token", a, "")
			return a.Reveal(), nil
		}, &azidentity.ClientAssertionCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	case "managed-identity":
		opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: s.clientOptions()}
		if c.clientID != "" {
			opts.ID = azidentity.ClientID(c.clientID)
		}
		where := "IMDS, http://169.254.169.254"
		if e := s.env("IDENTITY_ENDPOINT"); e != "" {
			where = "IDENTITY_ENDPOINT"
		}
		cred.what = "asking the managed identity endpoint (" + where + ")"
		cred.tc, err = azidentity.NewManagedIdentityCredential(opts)
	case "client-secret":
		v, rerr := s.nested(ctx, c.secretRef)
		if rerr != nil {
			return nil, fmt.Errorf("reading the client secret %s: %w", c.secretRef, rerr)
		}
		s.used("the Entra client secret", v, envName(c.secretRef))
		cred.tc, err = azidentity.NewClientSecretCredential(c.tenant, c.clientID, v.Reveal(),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	case "client-certificate":
		v, rerr := s.nested(ctx, c.certRef)
		if rerr != nil {
			return nil, fmt.Errorf("reading the client certificate %s: %w", c.certRef, rerr)
		}
		s.used("the Entra client certificate and key", v, envName(c.certRef))
		certs, key, perr := azidentity.ParseCertificates([]byte(v.Reveal()), nil)
		if perr != nil {
			return nil, fmt.Errorf("the client certificate %s is not a PEM certificate with its private key", c.certRef)
		}
		cred.tc, err = azidentity.NewClientCertificateCredential(c.tenant, c.clientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	case "cli":
		cred.what = "asking the Azure CLI (az account get-access-token)"
		cred.tc, err = azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: c.tenant})
	}
	if err != nil {
		return nil, fmt.Errorf("via %s: %v", c.via, scrub(err.Error()))
	}
	return cred, nil
}

// assertion returns the function that gets a fresh federated token on every exchange.
func (s *Source) assertion(c *config) (func(context.Context) (secret.Value, error), error) {
	hc := s.httpClient()
	switch c.via {
	case "github":
		u, tok := s.env("ACTIONS_ID_TOKEN_REQUEST_URL"), s.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		if u == "" || tok == "" {
			return nil, errors.New("GitHub Actions gives this step no ID token: ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set (give the job `permissions: id-token: write`)")
		}
		return func(ctx context.Context) (secret.Value, error) {
			return cienv.GitHubIDToken(ctx, hc, u, tok, c.audience)
		}, nil
	case "azure-pipelines":
		uri := s.env("SYSTEM_OIDCREQUESTURI")
		tok := s.env("SYSTEM_ACCESSTOKEN")
		if tok == "" {
			tok = s.env("ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN")
		}
		conn := c.serviceConnection
		if conn == "" {
			conn = s.env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")
		}
		switch {
		case uri == "":
			return nil, errors.New("SYSTEM_OIDCREQUESTURI is not set (not on Azure Pipelines, or an agent too old for workload identity federation)")
		case tok == "":
			return nil, errors.New("SYSTEM_ACCESSTOKEN is not set (map it in the step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken))")
		case conn == "":
			return nil, errors.New("no service connection: give service_connection=ID (the Azure Resource Manager connection with workload identity federation)")
		}
		return func(ctx context.Context) (secret.Value, error) {
			return cienv.AzurePipelinesIDToken(ctx, hc, uri, tok, conn)
		}, nil
	case "file":
		path := c.tokenFile
		if path == "" {
			path = s.env("AZURE_FEDERATED_TOKEN_FILE")
		}
		if path == "" {
			return nil, errors.New("no token file: give token_file=PATH or set AZURE_FEDERATED_TOKEN_FILE")
		}
		return func(context.Context) (secret.Value, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return secret.Value{}, fmt.Errorf("reading the federated token file: %v", pathErr(err))
			}
			t := strings.TrimSpace(string(b))
			if t == "" {
				return secret.Value{}, fmt.Errorf("the federated token file %s is empty", path)
			}
			return secret.NewValue(t), nil
		}, nil
	}
	return nil, fmt.Errorf("via %s has no assertion", c.via)
}

func (s *Source) used(what string, v secret.Value, envVar string) {
	if s.Used != nil && !v.IsZero() {
		s.Used(what, v, envVar)
	}
}

// envName is NAME of an env:NAME reference, else "".
func envName(raw string) string {
	if ref, err := secret.ParseRef(raw); err == nil && ref.Scheme == "env" {
		return ref.Opaque
	}
	return ""
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

func (s *Source) nested(ctx context.Context, raw string) (secret.Value, error) {
	ref, err := secret.ParseRef(raw)
	if err != nil {
		return secret.Value{}, err
	}
	if s.Nested != nil {
		return s.Nested(ctx, ref)
	}
	var res resolve.Resolved
	switch ref.Scheme {
	case "env":
		res, err = (&envsrc.Source{Lookup: s.Lookup}).Resolve(ctx, ref)
	case "file":
		res, err = filesrc.Source{}.Resolve(ctx, ref)
	default:
		return secret.Value{}, fmt.Errorf("want env:NAME or file:PATH here, not %s:", ref.Scheme)
	}
	return res.Value, err
}

// describeJWT is the iss, sub and aud of a JWT, for hints (none of them is secret), or "".
func describeJWT(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud any    `json:"aud"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	aud := fmt.Sprint(c.Aud)
	if s, ok := c.Aud.(string); ok {
		aud = s
	}
	return fmt.Sprintf("iss %s, sub %s, aud %s", c.Iss, c.Sub, aud)
}

// explain turns a failure into an error that names the step and relays Entra's error, with a
// hint for the common ones. It never carries a token: Entra's text is taken from its JSON fields,
// not from the SDK's message (which quotes the whole answer).
func (c *Credential) explain(err error) error {
	if c.assertionErr != nil {
		return fmt.Errorf("getting the assertion (via %s): %w", c.cfg.via, c.assertionErr)
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		body, _ := runtime.Payload(afe.RawResponse)
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			Codes       []int  `json:"error_codes"`
			Message     string `json:"message"`
		}
		if json.Unmarshal(body, &e) == nil && (e.Error != "" || e.Message != "") {
			desc := e.Description
			if desc == "" {
				desc = e.Message
			}
			desc = cutTrace(desc)
			code := 0
			if len(e.Codes) > 0 {
				code = e.Codes[0]
			}
			msg := fmt.Sprintf("%s: HTTP %d %s: %s", c.what, afe.RawResponse.StatusCode, e.Error, desc)
			if h := c.hint(code); h != "" {
				msg += " (" + h + ")"
			}
			return errors.New(scrub(msg))
		}
		return fmt.Errorf("%s: HTTP %d", c.what, afe.RawResponse.StatusCode)
	}
	msg := scrub(oneLine(err.Error()))
	return fmt.Errorf("%s: %s", c.what, msg)
}

// cutTrace drops the "Trace ID: ... Correlation ID: ... Timestamp: ..." tail and the whitespace
// of a description; the ids are kept separately by Entra and help no user.
func cutTrace(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, " Trace ID:"); i > 0 {
		s = s[:i]
	}
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

func oneLine(s string) string { return msgsafe.ServerText(s, 600) }

// scrub removes anything shaped like a JWT from a message: the SDK's and servers' texts are not
// ours to trust with a token.
func scrub(s string) string {
	words := strings.Fields(s)
	changed := false
	for i, w := range words {
		if strings.Count(w, ".") >= 2 && len(w) > 40 && strings.HasPrefix(strings.TrimLeft(w, "'\"("), "eyJ") {
			words[i], changed = "[token]", true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(words, " ")
}

func (c *Credential) hint(code int) string {
	a := ""
	if c.assertion != "" {
		a = " (the assertion has " + c.assertion + ")"
	}
	switch code {
	case 70021, 700211, 700212, 700213, 7002137, 7002138:
		return "no federated credential of app " + c.cfg.clientID + " matches the job's token" + a +
			": add one on the app registration or managed identity (Certificates & secrets > Federated credentials) with exactly this issuer and subject and audience " + DefaultAudience + "; the match is case-sensitive"
	case 700016:
		return "no app with client id " + c.cfg.clientID + " in tenant " + c.cfg.tenant + ": check client_id and the tenant"
	case 90002:
		return "tenant " + c.cfg.tenant + " not found: check the tenant id (entra://TENANT or AZURE_TENANT_ID) and the cloud (AZURE_AUTHORITY_HOST)"
	case 700024:
		return "the federated token had expired when it reached Entra" + a + ": with via=file the file is stale; check the clocks"
	case 7000215:
		return "the client secret is wrong or expired: give the secret's value, not its id"
	case 700027:
		return "the assertion's signature did not verify against its issuer's keys"
	case 500011, 1002012:
		return "scope=" + c.cfg.scope + " names no resource Entra knows in this tenant; Azure DevOps is " + DefaultScope
	}
	return ""
}

// Bearer: an Entra access token is a bearer token.
func (s *Source) Bearer(ref secret.Ref) bool { return ref.Scheme == Scheme }

// Fresh is the reference's credential: the token, refreshed when it nears expiry.
func (s *Source) Fresh(ctx context.Context, ref secret.Ref) (func(context.Context) (secret.Value, time.Time, error), error) {
	c, err := s.Credential(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c.Token, nil
}

var _ resolve.Refresher = (*Source)(nil)
var _ resolve.Bearer = (*Source)(nil)

// Provider registers the entra:// scheme. It has no flags: the reference and the Azure SDK's
// variables (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_AUTHORITY_HOST, AZURE_FEDERATED_TOKEN_FILE)
// say everything, and there is nothing to undo (Entra access tokens cannot be revoked).
var Provider = resolve.Provider{
	Scheme: Scheme,
	New: func(env resolve.Env) resolve.Source {
		return &Source{Lookup: env.Lookup, Log: env.Log, Used: env.UsedCredential}
	},
	Describe: describe,
}

// describe says what resolving ref would do, from the reference and the environment alone.
func describe(env resolve.Env, ref secret.Ref) (resolve.Description, error) {
	s := &Source{Lookup: env.Lookup}
	c, err := s.config(ref, true)
	if err != nil {
		return resolve.Description{}, err
	}
	how := map[string]string{
		"github":             "the GitHub Actions job's OIDC token (audience " + c.audience + ")",
		"azure-pipelines":    "the Azure Pipelines service connection's OIDC token",
		"file":               "the federated token file",
		"managed-identity":   "the managed identity",
		"client-secret":      "a client secret (" + c.secretRef + ")",
		"client-certificate": "a client certificate (" + c.certRef + ")",
		"cli":                "the Azure CLI's signed-in account",
	}[c.via]
	what := "a Microsoft Entra access token for " + c.scope + " from " + how
	if c.via != "managed-identity" && c.via != "cli" {
		what += ", exchanged at " + c.authority + c.tenant + "/oauth2/v2.0/token for client " + c.clientID
	}
	if c.detected != "" {
		what += " (via " + c.via + ": " + c.detected + ")"
	}
	d := resolve.Description{Action: "read", What: what, Details: map[string]string{
		"via": c.via, "tenant": c.tenant, "client_id": c.clientID, "scope": c.scope, "authority": c.authority,
	}}
	return d, nil
}
