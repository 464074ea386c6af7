package cienv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/patinject/patinject/internal/retry"

	"github.com/sethvargo/go-envconfig"

	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/secret"
)

// ciEnv is what the ID token fetchers read of the CI platform.
type ciEnv struct {
	Context
	// Azure Pipelines: the job's access token, mapped into scripts as SYSTEM_ACCESSTOKEN, and
	// into tasks as the endpoint parameter of SystemVssConnection.
	SystemAccessToken string `env:"SYSTEM_ACCESSTOKEN"`
	EndpointToken     string `env:"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"`
}

// IDTokenOptions say which ID token to ask of the CI platform.
type IDTokenOptions struct {
	Audience string // GitHub Actions: the aud claim; Azure Pipelines issues its own
	// AzureServiceConnection is the id of the Azure Pipelines service connection whose
	// workload identity token is asked for.
	AzureServiceConnection string
	HTTPClient             *http.Client // nil: a client with a 30 s timeout
}

// IDToken returns a function that fetches the CI platform's own OIDC ID token, for jwt login:
// GitHub Actions through ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (the job needs
// `permissions: id-token: write`), Azure Pipelines through SYSTEM_OIDCREQUESTURI with the job's
// access token. GitLab hands ID tokens to the job as variables (`id_tokens:`): pass one as
// --vault-jwt env:NAME. l reads the environment.
func IDToken(l envconfig.Lookuper, o IDTokenOptions) func(context.Context) (secret.Value, error) {
	return func(ctx context.Context) (secret.Value, error) {
		var ci ciEnv
		if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &ci, Lookuper: l}); err != nil {
			return secret.Value{}, fmt.Errorf("reading the CI environment: %w", err)
		}
		hc := o.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 30 * time.Second}
		}
		switch {
		case ci.IDTokenURL != "" || ci.Detect() == GitHub:
			if ci.IDTokenURL == "" || ci.IDTokenToken == "" {
				return secret.Value{}, fmt.Errorf("GitHub Actions gives no ID token to this step: ACTIONS_ID_TOKEN_REQUEST_URL is not set (give the job `permissions: id-token: write`)")
			}
			return githubIDToken(ctx, hc, ci.IDTokenURL, ci.IDTokenToken, o.Audience)
		case ci.OIDCRequestURI != "" || ci.Detect() == Azure:
			tok := ci.SystemAccessToken
			if tok == "" {
				tok = ci.EndpointToken
			}
			switch {
			case ci.OIDCRequestURI == "":
				return secret.Value{}, fmt.Errorf("Azure Pipelines: SYSTEM_OIDCREQUESTURI is not set (an agent too old for workload identity federation?)")
			case tok == "":
				return secret.Value{}, fmt.Errorf("Azure Pipelines: SYSTEM_ACCESSTOKEN is not set (map it in the step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken))")
			case o.AzureServiceConnection == "":
				return secret.Value{}, fmt.Errorf("Azure Pipelines: give --vault-azure-service-connection ID, the service connection whose ID token Vault trusts")
			}
			return azureIDToken(ctx, hc, ci.OIDCRequestURI, tok, o.AzureServiceConnection)
		case ci.Detect() == GitLab:
			return secret.Value{}, fmt.Errorf("GitLab hands ID tokens to the job as variables: declare `id_tokens: {VAULT_ID_TOKEN: {aud: ...}}` and pass --vault-jwt env:VAULT_ID_TOKEN")
		}
		return secret.Value{}, fmt.Errorf("not on a CI platform that issues ID tokens (GitHub Actions, Azure Pipelines): pass --vault-jwt REF")
	}
}

// GitHubIDToken asks the GitHub Actions runtime for the job's ID token with the given audience
// (the URL and request token are ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN). The Entra source's
// workload identity federation uses it as its client assertion.
func GitHubIDToken(ctx context.Context, hc *http.Client, reqURL, reqToken, audience string) (secret.Value, error) {
	return githubIDToken(ctx, hc, reqURL, reqToken, audience)
}

// AzurePipelinesIDToken asks Azure Pipelines for the ID token of service connection conn (the
// URI is SYSTEM_OIDCREQUESTURI, the token the job's System.AccessToken).
func AzurePipelinesIDToken(ctx context.Context, hc *http.Client, reqURI, accessToken, conn string) (secret.Value, error) {
	return azureIDToken(ctx, hc, reqURI, accessToken, conn)
}

// githubIDToken asks the Actions runtime for an ID token, as the toolkit's OidcClient does:
// GET URL&audience=AUD with the request token as Bearer, answer {"value": JWT}.
func githubIDToken(ctx context.Context, hc *http.Client, reqURL, reqToken, audience string) (secret.Value, error) {
	u := reqURL
	if audience != "" {
		sep := "&"
		if !strings.Contains(u, "?") {
			sep = "?"
		}
		u += sep + "audience=" + url.QueryEscape(audience)
	}
	var body struct {
		Value string `json:"value"`
	}
	err := fetchJSON(ctx, hc, http.MethodGet, u, reqToken, nil, &body)
	if err != nil {
		return secret.Value{}, fmt.Errorf("GitHub Actions ID token: %w", err)
	}
	if body.Value == "" {
		return secret.Value{}, fmt.Errorf("GitHub Actions ID token: the answer has no \"value\"")
	}
	return secret.NewValue(body.Value), nil
}

// azureIDToken asks Azure Pipelines for the workload identity token of a service connection:
// POST SYSTEM_OIDCREQUESTURI?api-version=7.1&serviceConnectionId=ID with the job's access token
// as Bearer, answer {"oidcToken": JWT}.
func azureIDToken(ctx context.Context, hc *http.Client, reqURI, accessToken, conn string) (secret.Value, error) {
	u, err := url.Parse(reqURI)
	if err != nil {
		return secret.Value{}, fmt.Errorf("Azure Pipelines ID token: SYSTEM_OIDCREQUESTURI is not a URL")
	}
	q := u.Query()
	q.Set("api-version", "7.1")
	q.Set("serviceConnectionId", conn)
	u.RawQuery = q.Encode()
	var body struct {
		OIDCToken string `json:"oidcToken"`
	}
	if err := fetchJSON(ctx, hc, http.MethodPost, u.String(), accessToken, []byte("{}"), &body); err != nil {
		return secret.Value{}, fmt.Errorf("Azure Pipelines ID token for service connection %s: %w", conn, err)
	}
	if body.OIDCToken == "" {
		return secret.Value{}, fmt.Errorf("Azure Pipelines ID token for service connection %s: the answer has no \"oidcToken\"", conn)
	}
	return secret.NewValue(body.OIDCToken), nil
}

// fetchJSON makes one request with a Bearer token, retried on no answer and on 5xx, and decodes
// a 200 answer into out. Errors carry the status and the server's message, never the tokens.
func fetchJSON(ctx context.Context, hc *http.Client, method, u, bearer string, body []byte, out any) error {
	var last error
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt > 1 && retry.Wait(ctx, retry.Backoff(attempt-1, 500*time.Millisecond, 2*time.Second)) != nil {
			return last
		}
		var rd io.Reader
		if body != nil {
			rd = strings.NewReader(string(body))
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return fmt.Errorf("bad request URL")
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL is in the message already once is enough
			}
			last = fmt.Errorf("%s %s: %w", method, redactURL(u), err)
			if ctx.Err() != nil {
				return last
			}
			continue
		}
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK && rerr == nil:
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("%s %s: the answer is not JSON", method, redactURL(u))
			}
			return nil
		case resp.StatusCode >= 500 || rerr != nil:
			last = fmt.Errorf("%s %s: HTTP %d%s", method, redactURL(u), resp.StatusCode, message(b))
			continue
		default:
			hint := ""
			switch resp.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden:
				hint = " (the step's request token is missing, expired or not allowed to ask for ID tokens)"
			}
			return fmt.Errorf("%s %s: HTTP %d%s%s", method, redactURL(u), resp.StatusCode, message(b), hint)
		}
	}
	return last
}

// message is a server's error text in a JSON answer ({"message": ...}), fit to print, or "".
func message(b []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) != nil || m.Message == "" {
		return ""
	}
	return ": " + msgsafe.FirstLine(m.Message, 200)
}

// redactURL shows u without user information or query (msgsafe.URL).
func redactURL(u string) string { return msgsafe.URL(u) }
