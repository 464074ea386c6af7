// Package adopat mints and revokes scoped, short-lived Azure DevOps personal access tokens through
// the PAT lifecycle API (Tokens, api-version 7.1-preview.1): a client for the API, and the
// ado-pat:// source that mints a PAT for a job and hands back how to revoke it.
package adopat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/patinject/patinject/internal/retry"
	"github.com/patinject/patinject/msgsafe"
	"github.com/patinject/patinject/secret"
)

// APIVersion is the version of the PAT lifecycle API that the client speaks.
const APIVersion = "7.1-preview.1"

// DefaultURL is the Azure DevOps token service.
const DefaultURL = "https://vssps.dev.azure.com"

// PatToken is what the API says about one PAT. Token is set only in the answer to a create.
type PatToken struct {
	AuthorizationID string
	DisplayName     string
	Scope           string
	TargetAccounts  []string // nil: valid in all of the user's organisations
	Token           secret.Value
	ValidFrom       time.Time
	ValidTo         time.Time
}

// CreateRequest asks for a new PAT for one organisation.
type CreateRequest struct {
	DisplayName string
	Scopes      []string // sent space-separated
	ValidTo     time.Time
}

// ListOptions are the query parameters of the list operation.
type ListOptions struct {
	Filter            string // active (default), revoked, expired or all
	SortBy            string // displayName, displayDate or status; "" for the server's order
	Ascending         bool
	ContinuationToken string
	Top               int // at most 100; 0 for the server's default
}

// Page is one page of a list.
type Page struct {
	PatTokens         []PatToken
	ContinuationToken string // "" on the last page
}

// Client calls the PAT lifecycle API. Create, revoke, get and list are retried on 429 (after the
// server's Retry-After) and 5xx, with exponential backoff and jitter, for at most RetryFor each.
type Client struct {
	BaseURL string       // DefaultURL unless --ado-url says otherwise
	HTTP    *http.Client // http.DefaultClient when nil
	Auth    *AccessToken // the user's Entra access token, sent as Bearer
	Log     *slog.Logger // debug lines: operation, status, attempt; never a token
	// Progress, when set, is told of slow steps at the default log level: a retry and its
	// reason, a revocation and whether it was verified.
	Progress func(msg string)

	UserAgent      string
	RequestTimeout time.Duration // one attempt; default 20s
	RetryFor       time.Duration // all the attempts of one operation; default 30s
	MinBackoff     time.Duration // first wait; default 500ms, doubled each attempt
	MaxBackoff     time.Duration // default 8s
}

func (c *Client) requestTimeout() time.Duration { return orDefault(c.RequestTimeout, 20*time.Second) }
func (c *Client) retryFor() time.Duration       { return orDefault(c.RetryFor, 30*time.Second) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsAuthorizationID reports whether s has the form of an authorization id (a UUID).
func IsAuthorizationID(s string) bool { return uuidRE.MatchString(s) }

// PatsURL is the address of the pats resource of org with the given query (api-version added).
func PatsURL(base, org string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("api-version", APIVersion)
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(org) + "/_apis/tokens/pats?" + q.Encode()
}

func (c *Client) base() string {
	if c.BaseURL == "" {
		return DefaultURL
	}
	return c.BaseURL
}

// wire forms, as in the spec's definitions.
type wireCreate struct {
	DisplayName string `json:"displayName"`
	Scope       string `json:"scope"`
	ValidTo     string `json:"validTo"`
	AllOrgs     bool   `json:"allOrgs"`
}

type wireToken struct {
	AuthorizationID string   `json:"authorizationId"`
	DisplayName     string   `json:"displayName"`
	Scope           string   `json:"scope"`
	TargetAccounts  []string `json:"targetAccounts"`
	Token           *string  `json:"token"`
	ValidFrom       string   `json:"validFrom"`
	ValidTo         string   `json:"validTo"`
}

type wireResult struct {
	PatToken      *wireToken `json:"patToken"`
	PatTokenError string     `json:"patTokenError"`
}

type wirePage struct {
	ContinuationToken string      `json:"continuationToken"`
	PatTokens         []wireToken `json:"patTokens"`
}

// FormatTime writes t the way the API takes it: UTC, milliseconds, "Z".
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// parseTime reads the API's date-times: RFC 3339 with up to 7 fractional digits, or the same
// without a zone, taken as UTC.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02T15:04:05.9999999", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a date-time: %q", s)
	}
	return t, nil
}

func (w *wireToken) decode() (PatToken, error) {
	p := PatToken{AuthorizationID: w.AuthorizationID, DisplayName: w.DisplayName, Scope: w.Scope, TargetAccounts: w.TargetAccounts}
	if w.Token != nil {
		p.Token = secret.NewValue(*w.Token)
	}
	var err error
	if p.ValidFrom, err = parseTime(w.ValidFrom); err != nil {
		return PatToken{}, fmt.Errorf("validFrom: %w", err)
	}
	if p.ValidTo, err = parseTime(w.ValidTo); err != nil {
		return PatToken{}, fmt.Errorf("validTo: %w", err)
	}
	return p, nil
}

// decodeResult reads a PatTokenResult: a patTokenError other than none is an error even in a 200.
func decodeResult(body []byte) (PatToken, error) {
	var r wireResult
	if err := json.Unmarshal(body, &r); err != nil {
		return PatToken{}, fmt.Errorf("the answer is not a PatTokenResult: %s", jsonErr(err))
	}
	if r.PatTokenError != "" && r.PatTokenError != "none" {
		return PatToken{}, &TokenError{Code: r.PatTokenError}
	}
	if r.PatToken == nil {
		return PatToken{}, fmt.Errorf("the answer holds no PAT and no error (patTokenError %q)", r.PatTokenError)
	}
	return r.PatToken.decode()
}

// jsonErr describes a decoding error without quoting the body, which may hold a token.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s is a JSON %s", te.Field, te.Value)
	}
	return "invalid JSON"
}

// Create mints a PAT for org. When an attempt may have created a PAT without the client learning
// of it (a timeout, a broken connection, a 5xx), the PATs of the user are listed afterwards and
// every one with the request's display name, other than the one returned, is revoked: no orphan is
// left. Display names must therefore be unique to one mint (the Source adds a random tag).
func (c *Client) Create(ctx context.Context, org string, req CreateRequest) (PatToken, error) {
	body, err := json.Marshal(wireCreate{
		DisplayName: req.DisplayName,
		Scope:       strings.Join(req.Scopes, " "),
		ValidTo:     FormatTime(req.ValidTo),
		AllOrgs:     false,
	})
	if err != nil {
		return PatToken{}, err
	}
	resp, ambiguous, err := c.call(ctx, "create", http.MethodPost, PatsURL(c.base(), org, nil), body)
	var pat PatToken
	if err == nil {
		pat, err = decodeResult(resp.body)
		var te *TokenError
		if err != nil && !errors.As(err, &te) {
			ambiguous = true // a 200 we cannot read may still have created a PAT
		}
	}
	if err == nil && pat.Token.IsZero() {
		err = fmt.Errorf("the answer holds no token for PAT %s", pat.AuthorizationID)
		ambiguous = true
	}
	if ambiguous {
		keep := ""
		if err == nil {
			keep = pat.AuthorizationID
		}
		// The sweep runs even when ctx was cancelled (a signal while minting): its own bounded time.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.retryFor())
		n, serr := c.sweep(sctx, org, req.DisplayName, keep)
		cancel()
		switch {
		case serr != nil && err != nil:
			return PatToken{}, fmt.Errorf("%w; a PAT named %q may have been created and could not be found to revoke it (%v): look for it with patinject pats list %s", err, req.DisplayName, serr, org)
		case serr != nil:
			c.debug("sweep after an uncertain create failed", "org", org, "name", req.DisplayName, "err", serr)
		case n > 0:
			c.debug("revoked PATs left by uncertain create attempts", "org", org, "name", req.DisplayName, "count", n)
		}
	}
	if err != nil {
		return PatToken{}, err
	}
	return pat, nil
}

// sweep revokes every active PAT named name except keep, and returns how many it revoked.
func (c *Client) sweep(ctx context.Context, org, name, keep string) (int, error) {
	pats, err := c.ListAll(ctx, org, "active")
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, p := range pats {
		if p.DisplayName != name || p.AuthorizationID == keep {
			continue
		}
		if err := c.Revoke(ctx, org, p.AuthorizationID); err != nil {
			errs = append(errs, fmt.Errorf("revoke %s: %w", p.AuthorizationID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Revoke revokes the PAT with this authorization id. Any 2xx is success (the spec says 200, its
// recorded example shows 204).
func (c *Client) Revoke(ctx context.Context, org, id string) error {
	if !IsAuthorizationID(id) {
		return fmt.Errorf("%q is not an authorization id (a UUID)", id)
	}
	resp, _, err := c.call(ctx, "revoke", http.MethodDelete, PatsURL(c.base(), org, url.Values{"authorizationId": {id}}), nil)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(resp.body)) > 0 {
		var r wireResult
		if json.Unmarshal(resp.body, &r) == nil && r.PatTokenError != "" && r.PatTokenError != "none" {
			return &TokenError{Code: r.PatTokenError}
		}
	}
	return nil
}

// Extend moves the expiry of a live PAT to validTo through the update operation (a PAT, once
// revoked, cannot be updated: the API answers authorizationNotFound). It returns the PAT's metadata
// as the service stored it.
func (c *Client) Extend(ctx context.Context, org, id string, validTo time.Time) (PatToken, error) {
	if !IsAuthorizationID(id) {
		return PatToken{}, fmt.Errorf("%q is not an authorization id (a UUID)", id)
	}
	v := FormatTime(validTo)
	body, err := json.Marshal(struct {
		AuthorizationID string  `json:"authorizationId"`
		ValidTo         *string `json:"validTo"`
	}{id, &v})
	if err != nil {
		return PatToken{}, err
	}
	resp, _, err := c.call(ctx, "update", http.MethodPut, PatsURL(c.base(), org, nil), body)
	if err != nil {
		return PatToken{}, err
	}
	return decodeResult(resp.body)
}

// Get returns the metadata of one PAT (its token is never returned again).
func (c *Client) Get(ctx context.Context, org, id string) (PatToken, error) {
	if !IsAuthorizationID(id) {
		return PatToken{}, fmt.Errorf("%q is not an authorization id (a UUID)", id)
	}
	resp, _, err := c.call(ctx, "get", http.MethodGet, PatsURL(c.base(), org, url.Values{"authorizationId": {id}}), nil)
	if err != nil {
		return PatToken{}, err
	}
	return decodeResult(resp.body)
}

// List returns one page of the user's PATs.
func (c *Client) List(ctx context.Context, org string, o ListOptions) (Page, error) {
	q := url.Values{}
	if o.Filter != "" {
		q.Set("displayFilterOption", o.Filter)
	}
	if o.SortBy != "" {
		q.Set("sortByOption", o.SortBy)
		q.Set("isSortAscending", strconv.FormatBool(o.Ascending))
	}
	if o.ContinuationToken != "" {
		q.Set("continuationToken", o.ContinuationToken)
	}
	if o.Top > 0 {
		q.Set("$top", strconv.Itoa(min(o.Top, 100)))
	}
	resp, _, err := c.call(ctx, "list", http.MethodGet, PatsURL(c.base(), org, q), nil)
	if err != nil {
		return Page{}, err
	}
	var w wirePage
	if err := json.Unmarshal(resp.body, &w); err != nil {
		return Page{}, fmt.Errorf("list PATs: the answer is not a PagedPatTokens: %s", jsonErr(err))
	}
	p := Page{ContinuationToken: w.ContinuationToken}
	for i := range w.PatTokens {
		t, err := w.PatTokens[i].decode()
		if err != nil {
			return Page{}, fmt.Errorf("list PATs: %w", err)
		}
		p.PatTokens = append(p.PatTokens, t)
	}
	return p, nil
}

// maxPages bounds ListAll, in case a server keeps handing out continuation tokens.
const maxPages = 1000

// ListAll returns every PAT of the user that filter selects, following the continuation tokens.
func (c *Client) ListAll(ctx context.Context, org, filter string) ([]PatToken, error) {
	var all []PatToken
	seen := map[string]bool{}
	o := ListOptions{Filter: filter, Top: 100}
	for range maxPages {
		p, err := c.List(ctx, org, o)
		if err != nil {
			return nil, err
		}
		all = append(all, p.PatTokens...)
		if p.ContinuationToken == "" || seen[p.ContinuationToken] || len(p.PatTokens) == 0 {
			return all, nil
		}
		seen[p.ContinuationToken] = true
		o.ContinuationToken = p.ContinuationToken
	}
	return all, fmt.Errorf("list PATs: more than %d pages", maxPages)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// authError is a failure to get the access token: not retried.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// call sends one operation, retrying throttling, server errors and transport failures within
// RetryFor. ambiguous reports whether an attempt may have taken effect without a readable answer
// (used by create). A 401 is tried once more with a fresh access token.
func (c *Client) call(ctx context.Context, op, method, u string, body []byte) (resp *response, ambiguous bool, err error) {
	deadline := time.Now().Add(c.retryFor())
	refreshed := false
	var last error
	for attempt := 1; ; attempt++ {
		r, err := c.send(ctx, method, u, body)
		var wait time.Duration
		switch {
		case err != nil:
			var ae *authError
			if errors.As(err, &ae) {
				return nil, ambiguous, ae.err
			}
			ambiguous = true
			if ctx.Err() != nil {
				return nil, ambiguous, fmt.Errorf("%s PAT: %w", op, ctx.Err())
			}
			last = err
			wait = retry.Backoff(attempt, c.minBackoff(), c.maxBackoff())
		case r.status == http.StatusTooManyRequests || r.status >= 500:
			if r.status >= 500 {
				ambiguous = true
			}
			last = &HTTPError{Status: r.status, Message: serverMessage(r.body)}
			wait = retry.Backoff(attempt, c.minBackoff(), c.maxBackoff())
			if ra, ok := retry.After(r.header.Get("Retry-After"), time.Now()); ok {
				wait = ra
			}
		case (r.status == http.StatusUnauthorized || r.status == http.StatusNonAuthoritativeInfo) && !refreshed && c.Auth != nil && c.Auth.Refreshable():
			refreshed = true
			c.Auth.Forget()
			c.debug("access token refused, asking for a fresh one", "op", op)
			continue
		case r.status >= 200 && r.status < 300 && r.status != http.StatusNonAuthoritativeInfo:
			c.debug("PAT API answered", "op", op, "status", r.status, "attempt", attempt)
			return r, ambiguous, nil
		default:
			return nil, ambiguous, fmt.Errorf("%s PAT: %w", op, &HTTPError{Status: r.status, Message: serverMessage(r.body)})
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, ambiguous, fmt.Errorf("%s PAT: %w (gave up after %d attempts in %s)", op, last, attempt, c.retryFor())
		}
		c.debug("PAT API: retrying", "op", op, "attempt", attempt, "wait", wait.Round(time.Millisecond), "why", last)
		c.progress(fmt.Sprintf("Azure DevOps PAT API: %s answered %v; trying again in %s (attempt %d)", op, last, wait.Round(time.Millisecond), attempt+1))
		if err := retry.Wait(ctx, wait); err != nil {
			return nil, ambiguous, fmt.Errorf("%s PAT: %w", op, err)
		}
	}
}

// send makes one attempt within RequestTimeout.
func (c *Client) send(ctx context.Context, method, u string, body []byte) (*response, error) {
	var tok secret.Value
	if c.Auth != nil {
		var err error
		if tok, err = c.Auth.Get(ctx); err != nil {
			return nil, &authError{err}
		}
	}
	actx, cancel := context.WithTimeout(ctx, c.requestTimeout())
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return nil, &authError{err} // a malformed URL: retrying cannot help
	}
	if !tok.IsZero() {
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	}
	req.Header.Set("Accept", "application/json")
	// Asks Azure DevOps for a 401 rather than a 203 with a sign-in page when the token is refused.
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("no answer from %s within %s", redactURL(u), c.requestTimeout())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("%s %s: %v", method, redactURL(u), ue.Err)
		}
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("no complete answer from %s within %s", redactURL(u), c.requestTimeout())
		}
		return nil, fmt.Errorf("reading the answer of %s: %v", redactURL(u), err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// redactURL shows u without user information or query (msgsafe.URL).
func redactURL(u string) string { return msgsafe.URL(u) }

func (c *Client) minBackoff() time.Duration { return orDefault(c.MinBackoff, 500*time.Millisecond) }
func (c *Client) maxBackoff() time.Duration { return orDefault(c.MaxBackoff, 8*time.Second) }

func (c *Client) progress(msg string) {
	if c.Progress != nil {
		c.Progress(msg)
	}
}

// RevokeVerified revokes the PAT, then checks that it took: the service no longer lists it
// among the user's active PATs. A revocation answered with success but not seen in the list is
// an *UnverifiedError, for a person to finish by hand.
func (c *Client) RevokeVerified(ctx context.Context, org, id, label string) error {
	start := time.Now()
	if err := c.Revoke(ctx, org, id); err != nil {
		return err
	}
	active, err := c.ListAll(ctx, org, "active")
	if err != nil {
		return &UnverifiedError{Org: org, ID: id, Why: fmt.Sprintf("listing the active PATs to check it failed: %v", err)}
	}
	for _, p := range active {
		if strings.EqualFold(p.AuthorizationID, id) {
			return &UnverifiedError{Org: org, ID: id, Why: "the service answered the revocation with success, but still lists the PAT as active"}
		}
	}
	c.progress(fmt.Sprintf("revoked %s (id %s): verified, not among the active PATs, in %s", label, id, time.Since(start).Round(time.Millisecond)))
	return nil
}

// UnverifiedError is a revocation whose effect could not be confirmed.
type UnverifiedError struct {
	Org, ID, Why string
}

func (e *UnverifiedError) Error() string {
	return fmt.Sprintf("revocation of PAT %s in %s not verified: %s", e.ID, e.Org, e.Why)
}

func (c *Client) debug(msg string, args ...any) {
	if c.Log != nil {
		c.Log.Debug(msg, args...)
	}
}
