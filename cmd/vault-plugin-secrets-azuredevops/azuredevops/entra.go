package azuredevops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/source/adopat"
)

// adoScope is the Entra scope of Azure DevOps for the v2.0 token endpoint.
const adoScope = adopat.ResourceID + "/.default"

// entraAnswer is a successful answer of the token endpoint.
type entraAnswer struct {
	TokenType    string      `json:"token_type"`
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	ExpiresIn    json.Number `json:"expires_in"`
}

// EntraError is a refusal of the token endpoint (its error, AADSTS code and the first line of its
// description) or a failure to reach it. It never holds a token.
type EntraError struct {
	Status      int
	Code        string // OAuth error: invalid_grant, invalid_client, ...
	AADSTS      int    // first of error_codes, or read from the description
	Description string
	Err         error // transport failure
}

func (e *EntraError) Error() string {
	if e.Err != nil {
		return "Microsoft Entra token endpoint: " + e.Err.Error()
	}
	hint := ""
	switch e.AADSTS {
	case 70008, 700082, 700084:
		hint = "the stored refresh token has expired (unused for too long, or the user's sessions were revoked): sign in as the user again and write the new refresh_token to config"
	case 50173, 50133:
		hint = "the user's sign-in was invalidated (password change or revoked sessions): sign in again and write the new refresh_token to config"
	case 7000215, 7000222:
		hint = "the client secret is wrong or expired: write a valid client_secret to config"
	case 700016:
		hint = "no application with this client_id in the tenant: check client_id and tenant_id"
	case 90002, 900023:
		hint = "no such tenant: check tenant_id"
	case 65001:
		hint = "the user or an administrator has not consented to the application's access to Azure DevOps"
	case 1002012, 70011:
		hint = "the application may not ask for Azure DevOps (" + adoScope + ")"
	}
	msg := fmt.Sprintf("Microsoft Entra refused the token request (HTTP %d", e.Status)
	if e.Code != "" {
		msg += ", " + e.Code
	}
	msg += ")"
	if hint != "" {
		msg += ": " + hint
	}
	if e.Description != "" {
		msg += " (Entra said: " + e.Description + ")"
	}
	return msg
}

func (e *EntraError) Unwrap() error { return e.Err }

// redeem asks the token endpoint of c for an access token to Azure DevOps: with the refresh token
// rt for a delegated config (the answer carries the rotated refresh token), with the client
// secret for an application one. 429 and 5xx are tried again, three attempts in all.
func (b *Backend) redeem(ctx context.Context, c *config, rt string) (entraAnswer, error) {
	form := url.Values{"client_id": {c.ClientID}}
	var sent []string // secrets in the request, never to be repeated in an error
	if c.delegated() {
		form.Set("grant_type", "refresh_token")
		form.Set("refresh_token", rt)
		form.Set("scope", adoScope+" offline_access")
		sent = append(sent, rt)
	} else {
		form.Set("grant_type", "client_credentials")
		form.Set("client_secret", c.ClientSecret)
		form.Set("scope", adoScope)
		sent = append(sent, c.ClientSecret)
	}
	endpoint := strings.TrimRight(c.AuthorityHost, "/") + "/" + url.PathEscape(c.TenantID) + "/oauth2/v2.0/token"
	var last error
	for attempt := 1; attempt <= 3; attempt++ {
		a, retry, wait, err := b.tokenRequest(ctx, endpoint, form, sent)
		if err == nil {
			return a, nil
		}
		last = err
		if !retry || attempt == 3 {
			break
		}
		if wait <= 0 || wait > 5*time.Second {
			wait = time.Duration(attempt) * 500 * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return entraAnswer{}, &EntraError{Err: ctx.Err()}
		case <-t.C:
		}
	}
	return entraAnswer{}, last
}

func (b *Backend) tokenRequest(ctx context.Context, endpoint string, form url.Values, sent []string) (a entraAnswer, retry bool, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return a, false, 0, &EntraError{Err: errors.New("authority_host or tenant_id makes no valid URL")}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := b.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return a, true, 0, &EntraError{Err: fmt.Errorf("POST %s: %s", endpoint, scrub(err.Error(), sent))}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return a, true, 0, &EntraError{Err: fmt.Errorf("reading the answer of %s: %v", endpoint, err)}
	}
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &a); err != nil || a.AccessToken == "" {
			return entraAnswer{}, false, 0, &EntraError{Status: res.StatusCode, Err: errors.New("the answer holds no access_token")}
		}
		if !strings.EqualFold(a.TokenType, "bearer") {
			return entraAnswer{}, false, 0, &EntraError{Status: res.StatusCode, Err: fmt.Errorf("the answer's token_type is %q, not Bearer", a.TokenType)}
		}
		return a, false, 0, nil
	}
	var w struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	_ = json.Unmarshal(body, &w)
	e := &EntraError{Status: res.StatusCode, Code: w.Error, Description: msgsafe.FirstLine(scrub(w.Description, sent), 300)}
	if len(w.Codes) > 0 {
		e.AADSTS = w.Codes[0]
	} else if strings.HasPrefix(w.Description, "AADSTS") {
		n := strings.IndexFunc(w.Description[6:], func(r rune) bool { return r < '0' || r > '9' })
		if n > 0 {
			e.AADSTS, _ = strconv.Atoi(w.Description[6 : 6+n])
		}
	}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
		wait := time.Duration(0)
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		return a, true, wait, e
	}
	return a, false, 0, e
}

// scrub removes every secret of sent from s (a server that reflects its input).
func scrub(s string, sent []string) string {
	for _, v := range sent {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// accessToken returns an access token of the config's identity for Azure DevOps, cached until two
// minutes before it expires; force asks Entra for a new one (after Azure DevOps refused it). For
// a delegated config, the rotated refresh token is stored before the access token is used, and
// kept in memory too should storing fail.
func (b *Backend) accessToken(ctx context.Context, s logical.Storage, force bool) (string, time.Time, error) {
	b.tokMu.Lock()
	defer b.tokMu.Unlock()
	c, err := getConfig(ctx, s)
	if err != nil {
		return "", time.Time{}, err
	}
	if c == nil {
		return "", time.Time{}, errNoConfig
	}
	if !b.tok.configAt.Equal(c.WrittenAt) {
		b.tok = cachedToken{configAt: c.WrittenAt}
	}
	now := b.now()
	if !force && b.tok.access != "" && b.tok.expiry.Sub(now) > 2*time.Minute {
		return b.tok.access, b.tok.expiry, nil
	}
	rt := c.RefreshToken
	if b.tok.refresh != "" {
		rt = b.tok.refresh
	}
	a, err := b.redeem(ctx, c, rt)
	if err != nil {
		return "", time.Time{}, err
	}
	secs, _ := a.ExpiresIn.Int64()
	if secs <= 0 {
		secs = 300
	}
	exp := now.Add(time.Duration(secs) * time.Second)
	if c.delegated() && a.RefreshToken != "" && a.RefreshToken != c.RefreshToken {
		b.tok.refresh = a.RefreshToken
		c.RefreshToken = a.RefreshToken
		c.RotatedAt = now.UTC()
		if err := putConfig(ctx, s, c); err != nil {
			b.Logger().Error("storing the rotated refresh token failed; it is kept in memory until the next try", "error", err)
		} else {
			b.tok.refresh = ""
		}
	}
	b.tok.access, b.tok.expiry = a.AccessToken, exp
	return a.AccessToken, exp, nil
}

var errNoConfig = errors.New("the engine is not configured: write config (tenant_id, client_id, refresh_token or client_secret) first")
